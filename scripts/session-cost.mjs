#!/usr/bin/env node
/**
 * What one session costs the router (issue 16), outside the bench, after `npx tsc -p tsconfig.json`:
 *
 *   node scripts/session-cost.mjs heap  [--sessions 10000]   heap snapshot diff of idle joined sessions
 *   node scripts/session-cost.mjs rss   [--sessions 10000] [--relay]  RSS and heap per idle session (or bare connection)
 *   node scripts/session-cost.mjs joins [--joins 4000] [--loops 8] [--auth wampcra|anonymous] [--profile] [--relay [--echo N]]
 *
 * The router runs in a child process (the bench's config: one realm, anonymous and salted
 * WAMP-CRA with the stored PBKDF2 key, log level warn, caps raised); the clients are raw `ws`
 * sockets in this process. `heap` writes a heap snapshot after GC before and after opening the
 * idle sessions (anonymous, json) and prints the difference per object type and per session.
 * `joins` runs connect → HELLO → (CHALLENGE → AUTHENTICATE) → WELCOME → GOODBYE → close loops
 * and prints the router's CPU time per join (from /proc), with `--profile` under --cpu-prof;
 * `--relay` runs the same against a bare WebSocket server (connect → close), the baseline; with
 * `--echo 3` it adds three request/answer round trips (the floor of a three-round-trip login).
 */

import { fork } from 'node:child_process';
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import WebSocket from 'ws';

const DIST = new URL('../dist/', import.meta.url);
const CRA = { authid: 'bench-user', role: 'bench', secret: 'bench-secret', salt: 'bench-salt-0123', iterations: 1000, keylen: 32 };
const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const craKey = () => pbkdf2Sync(CRA.secret, CRA.salt, CRA.iterations, CRA.keylen, 'sha256').toString('base64');

// ---------------------------------------------------------------- router side (child process)

async function runRouter() {
  const { validateConfig } = await import(new URL('router/config.js', DIST));
  const { createRouter } = await import(new URL('router/server.js', DIST));
  const { createLogger } = await import(new URL('router/log.js', DIST));
  const config = validateConfig({
    listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0, path: '/ws', serializers: ['json', 'msgpack', 'cbor'] }],
    limits: { maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000, maxUnauthenticatedConnections: 1_000_000, rateMessagesPerSecond: 0, rateBytesPerSecond: 0 },
    realms: [{
      name: 'realm1',
      roles: [{ name: CRA.role, permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }],
      auth: {
        anonymous: { role: CRA.role },
        wampcra: { users: { [CRA.authid]: { role: CRA.role, key: craKey(), salt: CRA.salt, iterations: CRA.iterations, keylen: CRA.keylen } } },
      },
    }],
    log: { level: 'warn' },
  });
  const router = createRouter(config, { logger: createLogger({ level: 'warn' }) });
  const [address] = await router.listen();
  const dir = mkdtempSync(joinPath(tmpdir(), 'session-heap-'));
  process.on('message', (message) => {
    const gc = () => { globalThis.gc(); globalThis.gc(); };
    if (message.op === 'snapshot') {
      gc();
      process.send({ op: 'snapshot', path: writeHeapSnapshot(joinPath(dir, `${message.label}.heapsnapshot`)), memory: process.memoryUsage() });
    } else if (message.op === 'memory') {
      gc();
      process.send({ op: 'memory', memory: process.memoryUsage() });
    } else if (message.op === 'stop') {
      process.exit(0);
    }
  });
  process.send({ op: 'ready', url: address.url });
}

// ---------------------------------------------------------------- client side

function startRouter(execArgv, role = '--router') {
  const child = fork(fileURLToPath(import.meta.url), [role], { execArgv: ['--expose-gc', ...execArgv] });
  const replies = [];
  child.on('message', (message) => replies.shift()?.(message));
  const ask = (message) => new Promise((resolve) => {
    replies.push(resolve);
    if (message) child.send(message);
  });
  return { child, ask, ready: ask(undefined) };
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['wamp.2.json'], { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** HELLO → (CHALLENGE → AUTHENTICATE) → WELCOME; resolves with the session ID. */
function join(ws, key) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('join timed out')), 15_000);
    ws.on('message', function onMessage(data) {
      const message = JSON.parse(data.toString());
      if (message[0] === 4) {
        ws.send(JSON.stringify([5, createHmac('sha256', key).update(message[2].challenge).digest('base64'), {}]));
        return;
      }
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (message[0] === 2) resolve(message[1]);
      else reject(new Error(`unexpected ${data.toString().slice(0, 200)}`));
    });
    const details = { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } };
    if (key) Object.assign(details, { authmethods: ['wampcra'], authid: CRA.authid });
    ws.send(JSON.stringify([1, 'realm1', details]));
  });
}

async function pool(count, concurrency, task) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await task(next++);
  }));
}

const BY_NAME = new Set(['object', 'closure', 'native', 'hidden', 'array', 'object shape']);

/** A .heapsnapshot file, with each node's key (type, and constructor or name) and id. */
function readSnapshot(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const { node_fields: fields, node_types: [types], edge_fields: edgeFields, edge_types: [edgeTypes] } = snapshot.snapshot.meta;
  const at = (name) => fields.indexOf(name);
  const [typeAt, nameAt, sizeAt, idAt, edgeCountAt] = ['type', 'name', 'self_size', 'id', 'edge_count'].map(at);
  const nodes = snapshot.nodes;
  const keyOf = (i) => {
    const type = types[nodes[i + typeAt]];
    return BY_NAME.has(type) ? `${type}: ${snapshot.strings[nodes[i + nameAt]].slice(0, 60)}` : type;
  };
  return { snapshot, fields, edgeFields, edgeTypes, nodes, keyOf, typeAt, nameAt, sizeAt, idAt, edgeCountAt };
}

/** Per key: count and self size. */
function heapByType(s) {
  const out = new Map();
  for (let i = 0; i < s.nodes.length; i += s.fields.length) {
    const key = s.keyOf(i);
    const entry = out.get(key) ?? out.set(key, { count: 0, size: 0 }).get(key);
    entry.count++;
    entry.size += s.nodes[i + s.sizeAt];
  }
  return out;
}

/** For objects new in `after` (ids not in `before`): how they are held (retainer key . edge name), per key. */
function newRetainers(before, after) {
  const old = new Set();
  for (let i = 0; i < before.nodes.length; i += before.fields.length) old.add(before.nodes[i + before.idAt]);
  const { nodes, fields, edgeFields, edgeTypes, snapshot } = after;
  const edges = snapshot.edges;
  const [edgeTypeAt, edgeNameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) => edgeFields.indexOf(f));
  const out = new Map();
  let edge = 0;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const count = nodes[i + after.edgeCountAt];
    if (old.has(nodes[i + after.idAt])) { edge += count * edgeFields.length; continue; }
    for (let e = 0; e < count; e++, edge += edgeFields.length) {
      const edgeType = edgeTypes[edges[edge + edgeTypeAt]];
      if (edgeType === 'weak' || edgeType === 'shortcut') continue;
      const to = edges[edge + toAt];
      if (old.has(nodes[to + after.idAt])) continue;
      const name = edgeType === 'element' || edgeType === 'hidden' ? `[${edgeType}]` : snapshot.strings[edges[edge + edgeNameAt]];
      const key = `${after.keyOf(to)}  <-  ${after.keyOf(i)} .${name}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
  }
  return out;
}

async function heap() {
  const sessions = Number(flag('sessions', '10000'));
  const router = startRouter([]);
  const { url } = await router.ready;
  // Warm up: the first sessions compile the join path; then the 'before' snapshot.
  const warm = await Promise.all(Array.from({ length: 50 }, () => open(url)));
  await Promise.all(warm.map((ws) => join(ws)));
  const before = await router.ask({ op: 'snapshot', label: 'before' });
  const sockets = [];
  await pool(sessions, 64, async () => {
    const ws = await open(url);
    await join(ws);
    sockets.push(ws);
  });
  const after = await router.ask({ op: 'snapshot', label: 'after' });
  const [first, second] = [readSnapshot(before.path), readSnapshot(after.path)];
  const [a, b] = [heapByType(first), heapByType(second)];
  if (argv.includes('--retainers')) {
    const held = [...newRetainers(first, second)].filter(([, n]) => n >= sessions / 2).sort((x, y) => y[1] - x[1]);
    for (const [key, n] of held) console.log(`${(n / sessions).toFixed(2).padStart(6)}  ${key}`);
  }
  const rows = [...b].map(([key, { count, size }]) => ({ key, count: count - (a.get(key)?.count ?? 0), size: size - (a.get(key)?.size ?? 0) }))
    .filter((r) => Math.abs(r.size) >= sessions * 4 || Math.abs(r.count) >= sessions / 2)
    .sort((x, y) => y.size - x.size);
  const total = rows.reduce((sum, r) => sum + r.size, 0);
  console.log(`${sessions} idle joined sessions (anonymous, json); heapUsed ${((after.memory.heapUsed - before.memory.heapUsed) / sessions).toFixed(0)} B/session, `
    + `RSS ${((after.memory.rss - before.memory.rss) / sessions).toFixed(0)} B/session, external ${((after.memory.external - before.memory.external) / sessions).toFixed(0)} B/session`);
  console.log('| object type (snapshot node type: constructor/name) | objects per session | bytes per session (self size) |');
  console.log('| --- | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.key.replace(/\|/g, '\\|')} | ${(r.count / sessions).toFixed(2)} | ${(r.size / sessions).toFixed(0)} |`);
  console.log(`| total of the rows above | | ${(total / sessions).toFixed(0)} |`);
  for (const ws of sockets) ws.terminate();
  router.child.send({ op: 'stop' });
}

/** RSS and JS heap per idle session (or per bare connection with --relay), after GC, no snapshots. */
async function rss() {
  const sessions = Number(flag('sessions', '10000'));
  const relay = argv.includes('--relay');
  const router = startRouter([], relay ? '--relay-child' : '--router');
  const { url } = await router.ready;
  const warm = await Promise.all(Array.from({ length: 50 }, () => open(url)));
  if (!relay) await Promise.all(warm.map((ws) => join(ws)));
  const before = (await router.ask({ op: 'memory' })).memory;
  const sockets = [];
  await pool(sessions, 64, async () => {
    const ws = await open(url);
    if (!relay) await join(ws);
    sockets.push(ws);
  });
  const after = (await router.ask({ op: 'memory' })).memory;
  const per = (field) => ((after[field] - before[field]) / sessions).toFixed(0);
  console.log(`${sessions} ${relay ? 'bare relay connections' : 'idle joined sessions'}: RSS ${per('rss')} B, heapUsed ${per('heapUsed')} B per session; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (const ws of sockets) ws.terminate();
  router.child.send({ op: 'stop' });
}

async function joins() {
  const count = Number(flag('joins', '4000'));
  const loops = Number(flag('loops', '8'));
  const key = flag('auth', 'wampcra') === 'wampcra' ? craKey() : undefined;
  const profileDir = mkdtempSync(joinPath(tmpdir(), 'session-prof-'));
  const relay = argv.includes('--relay');
  const echoes = Number(flag('echo', '0'));
  const router = startRouter(argv.includes('--profile') ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [], relay ? '--relay-child' : '--router');
  const { url } = await router.ready;
  const once = async () => {
    const ws = await open(url);
    if (relay) {
      // --echo N: N request/answer round trips before the close, the floor for an N-round-trip login.
      for (let i = 0; i < echoes; i++) {
        await new Promise((resolve) => {
          ws.once('message', resolve);
          ws.send(JSON.stringify([1, 'realm1', { roles: { caller: {} } }]));
        });
      }
      await new Promise((resolve) => {
        ws.once('close', resolve);
        ws.close();
      });
      return;
    }
    await join(ws, key);
    await new Promise((resolve) => {
      ws.on('message', (data) => { if (data.toString().startsWith('[6,')) resolve(); });
      ws.send(JSON.stringify([6, {}, 'wamp.close.normal']));
    });
    await new Promise((resolve) => {
      ws.once('close', resolve);
      ws.close();
    });
  };
  await pool(200, loops, once); // warm-up
  if (argv.includes('--attach')) {
    // Time to attach a tracer to the router (`strace -c -f -p PID`) before the measured loops.
    console.error(`router pid ${router.child.pid}`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  const cpu0 = cpuSeconds(router.child.pid);
  const t0 = performance.now();
  await pool(count, loops, once);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(router.child.pid) - cpu0;
  console.log(`${count} ${relay ? `relay connect${echoes ? ` + ${echoes} echo round trips` : ''}/close` : key ? 'wampcra' : 'anonymous'} joins in ${seconds.toFixed(2)} s: ${(count / seconds).toFixed(0)} joins/s, `
    + `router ${(cpu * 1e6 / count).toFixed(0)} µs CPU per join (${(count / cpu).toFixed(0)} joins per CPU-s); load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  router.child.send({ op: 'stop' });
  if (argv.includes('--profile')) {
    await new Promise((resolve) => router.child.once('exit', resolve));
    console.log(`profile in ${profileDir}`);
  }
}

/** The baseline: a bare WebSocket server (the bench's relay without pairing), same IPC. */
async function runRelay() {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false, handleProtocols: (offered) => offered.values().next().value ?? false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => undefined);
    ws.on('close', () => undefined);
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  process.on('message', (message) => {
    if (message.op === 'memory') {
      globalThis.gc();
      globalThis.gc();
      process.send({ op: 'memory', memory: process.memoryUsage() });
    } else if (message.op === 'stop') process.exit(0);
  });
  process.send({ op: 'ready', url: `ws://127.0.0.1:${wss.address().port}/` });
}

if (argv.includes('--relay-child')) await runRelay();
else if (argv.includes('--router')) await runRouter();
else if (argv[0] === 'heap') await heap();
else if (argv[0] === 'joins') await joins();
else if (argv[0] === 'rss') await rss();
else console.error('usage: node scripts/session-cost.mjs heap|joins [options]');
