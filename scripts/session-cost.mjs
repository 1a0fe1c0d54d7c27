#!/usr/bin/env node
/**
 * What one session costs the router (issue 16), outside the bench, after `npx tsc -p tsconfig.json`:
 *
 *   node scripts/session-cost.mjs heap  [--sessions 10000]   heap snapshot diff of idle joined sessions
 *   node scripts/session-cost.mjs rss   [--sessions 10000] [--relay]  RSS and heap per idle session (or bare connection)
 *   node scripts/session-cost.mjs steps [--joins 20000] [--rounds 7]  the router's WAMP work per join step, in process, no sockets
 *   node scripts/session-cost.mjs pairs [--joins 3000] [--rounds 4] [--profile] TARGET...  routers side by side (switchyard, DIR, fox, relay, bare)
 *   node scripts/session-cost.mjs joins [--joins 4000] [--loops 8] [--auth wampcra|anonymous] [--profile | --alloc] [--relay [--echo N] | --fox]
 *
 * SESSION_COST_DIST=DIR runs the router from another build of dist/ (a copy kept for before/after
 * runs; DIR needs node_modules and a package.json with "type": "module" in or above it).
 *
 * The router runs in a child process (the bench's config: one realm, anonymous and salted
 * WAMP-CRA with the stored PBKDF2 key, log level warn, caps raised); the clients are raw `ws`
 * sockets in this process. `heap` writes a heap snapshot after GC before and after opening the
 * idle sessions (anonymous, json) and prints the difference per object type and per session.
 * `joins` runs connect → HELLO → (CHALLENGE → AUTHENTICATE) → WELCOME → GOODBYE → close loops
 * and prints the router's CPU time per join (from /proc), with `--profile` under --cpu-prof;
 * `--relay` runs the same against a bare WebSocket server (connect → close), the baseline; with
 * `--echo 3` it adds three request/answer round trips (the floor of a three-round-trip login);
 * `steps` drives sessions of a router in this process through a fake transport (what a listener
 * hands the router: its accept()), so the WAMP work of each step is timed without sockets and
 * without the noise of a shared machine: CPU per step, the median of `--rounds` rounds.
 * `--alloc` samples what the router allocates per join (garbage included) by allocating function;
 * `--fox` runs the same join loop against fox-wamp (installed by the bench under bench/.peers) with
 * the bench's WAMP-CRA handler (bench/fox-child.ts: the same stored key, one HMAC per login).
 */

import { fork } from 'node:child_process';
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import WebSocket from 'ws';

const DIST = process.env.SESSION_COST_DIST ? pathToFileURL(`${process.env.SESSION_COST_DIST}/`) : new URL('../dist/', import.meta.url);
const CRA = { authid: 'bench-user', role: 'bench', secret: 'bench-secret', salt: 'bench-salt-0123', iterations: 1000, keylen: 32 };
const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const craKey = () => pbkdf2Sync(CRA.secret, CRA.salt, CRA.iterations, CRA.keylen, 'sha256').toString('base64');

// ---------------------------------------------------------------- router side (child process)

/** The bench's router config: one realm, anonymous and salted WAMP-CRA (the stored PBKDF2 key), caps raised, rate limits off. */
function routerConfig() {
  return {
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
  };
}

async function runRouter() {
  const { validateConfig } = await import(new URL('router/config.js', DIST));
  const { createRouter } = await import(new URL('router/server.js', DIST));
  const { createLogger } = await import(new URL('router/log.js', DIST));
  const config = validateConfig(routerConfig());
  const router = createRouter(config, { logger: createLogger({ level: 'warn' }) });
  const [address] = await router.listen();
  let dir; // made on the first snapshot
  process.on('message', (message) => {
    const gc = () => { globalThis.gc(); globalThis.gc(); };
    if (message.op === 'snapshot') {
      gc();
      dir ??= mkdtempSync(joinPath(tmpdir(), 'session-heap-'));
      process.send({ op: 'snapshot', path: writeHeapSnapshot(joinPath(dir, `${message.label}.heapsnapshot`)), memory: process.memoryUsage() });
    } else if (message.op === 'memory') {
      gc();
      process.send({ op: 'memory', memory: process.memoryUsage() });
    } else if (message.op === 'alloc-start') {
      allocations.start().then(() => process.send({ op: 'alloc-start' }));
    } else if (message.op === 'alloc-stop') {
      allocations.stop().then((sites) => process.send({ op: 'alloc-stop', sites }));
    } else if (message.op === 'stop') {
      process.exit(0);
    }
  });
  process.send({ op: 'ready', url: address.url });
}

/**
 * Sampled allocations in this process (V8's sampling heap profiler through the inspector), garbage
 * included: what the join path allocates, whether or not it outlives the join.
 */
const allocations = {
  session: undefined,
  post(method, params) {
    return new Promise((resolve, reject) => this.session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  },
  async start() {
    const { Session } = await import('node:inspector');
    this.session = new Session();
    this.session.connect();
    await this.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  },
  /** Bytes allocated per function (the allocating frame, file:line; for a builtin also its caller), largest first. */
  async stop() {
    const { profile } = await this.post('HeapProfiler.stopSampling');
    const bytes = new Map();
    const name = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}`;
    const visit = (node, caller) => {
      const key = node.callFrame.url ? name(node.callFrame) : `${name(node.callFrame)} < ${caller}`;
      if (node.selfSize > 0) bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
      for (const child of node.children) visit(child, name(node.callFrame));
    };
    visit(profile.head, '');
    return [...bytes].sort((a, b) => b[1] - a[1]);
  },
};

// ---------------------------------------------------------------- client side

function startRouter(execArgv, role = '--router', env = process.env) {
  const child = fork(fileURLToPath(import.meta.url), [role], { execArgv: ['--expose-gc', ...execArgv], env });
  const replies = [];
  child.on('message', (message) => replies.shift()?.(message));
  const ask = (message) => new Promise((resolve) => {
    replies.push(resolve);
    if (message) child.send(message);
  });
  return { child, ask, ready: ask(undefined) };
}

/** fox-wamp in the bench's own child (bench/fox-child.ts), on its WAMP-CRA (or open) listener; like startRouter's. */
function startFox(execArgv, cra) {
  const peers = fileURLToPath(new URL('../bench/.peers', import.meta.url));
  const child = fork(fileURLToPath(new URL('bench/fox-child.js', DIST)), [peers], { execArgv: ['--expose-gc', ...execArgv] });
  const ready = new Promise((resolve, reject) => {
    child.once('message', (reply) => (reply.ok ? resolve({ url: cra ? reply.result.craUrl : reply.result.url }) : reject(new Error(reply.error))));
  });
  child.send({ id: 1, cmd: 'start' });
  child.on('message', () => undefined);
  // fox-child exits when asked to stop (or when this process goes away).
  const stop = () => child.send({ id: 2, cmd: 'stop' });
  return { child, ready, stop };
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

/** connect → HELLO → (CHALLENGE → AUTHENTICATE) → WELCOME → GOODBYE → close. */
async function joinAndLeave(url, key) {
  const ws = await open(url);
  await join(ws, key);
  await new Promise((resolve) => {
    ws.on('message', (data) => { if (data.toString().startsWith('[6,')) resolve(); });
    ws.send(JSON.stringify([6, {}, 'wamp.close.normal']));
  });
  await closed(ws);
}

/** The relay's baseline: connect, `echoes` request/answer round trips (the floor of an N-round-trip login), close. */
async function echoAndClose(url, echoes) {
  const ws = await open(url);
  for (let i = 0; i < echoes; i++) {
    await new Promise((resolve) => {
      ws.once('message', resolve);
      ws.send(JSON.stringify([1, 'realm1', { roles: { caller: {} } }]));
    });
  }
  await closed(ws);
}

function closed(ws) {
  return new Promise((resolve) => {
    ws.once('close', resolve);
    ws.close();
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
  const fox = argv.includes('--fox');
  const echoes = Number(flag('echo', '0'));
  const nodeArgs = argv.includes('--profile') ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const router = fox ? startFox(nodeArgs, key !== undefined) : startRouter(nodeArgs, relay ? '--relay-child' : '--router');
  const { url } = await router.ready;
  const once = () => (relay ? echoAndClose(url, echoes) : joinAndLeave(url, key));
  await pool(200, loops, once); // warm-up
  if (argv.includes('--attach')) {
    // Time to attach a tracer to the router (`strace -c -f -p PID`) before the measured loops.
    console.error(`router pid ${router.child.pid}`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  const alloc = argv.includes('--alloc') && !fox && !relay;
  if (alloc) await router.ask({ op: 'alloc-start' });
  const cpu0 = cpuSeconds(router.child.pid);
  const t0 = performance.now();
  await pool(count, loops, once);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(router.child.pid) - cpu0;
  if (alloc) {
    const { sites } = await router.ask({ op: 'alloc-stop' });
    const total = sites.reduce((sum, [, bytes]) => sum + bytes, 0);
    console.log(`allocated ${(total / count).toFixed(0)} B per join (sampled, garbage included); by allocating function:`);
    for (const [site, bytes] of sites.slice(0, 30)) console.log(`${(bytes / count).toFixed(0).padStart(7)} B  ${site}`);
  }
  console.log(`${count} ${relay ? `relay connect${echoes ? ` + ${echoes} echo round trips` : ''}/close` : `${fox ? 'fox-wamp ' : ''}${key ? 'wampcra' : 'anonymous'}`} joins in ${seconds.toFixed(2)} s: ${(count / seconds).toFixed(0)} joins/s, `
    + `router ${(cpu * 1e6 / count).toFixed(0)} µs CPU per join (${(count / cpu).toFixed(0)} joins per CPU-s); load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  if (fox) router.stop();
  else router.child.send({ op: 'stop' });
  if (argv.includes('--profile')) {
    await new Promise((resolve) => router.child.once('exit', resolve));
    console.log(`profile in ${profileDir}`);
  }
}

/**
 * Routers side by side: every target runs at once and one client interleaves their joins, so a
 * shared machine's load falls on all of them alike; each router's CPU is read over the same window.
 * Targets: `switchyard` (this build), a dist/ directory (another build), `fox` (fox-wamp), `relay`
 * (connect + 3 echo round trips + close), `bare` (connect + close).
 */
async function pairs() {
  const count = Number(flag('joins', '3000'));
  const rounds = Number(flag('rounds', '4'));
  const loops = Number(flag('loops', '8'));
  const valued = new Set(['--joins', '--rounds', '--loops']);
  const targets = argv.slice(1).filter((arg, i, all) => !arg.startsWith('--') && !valued.has(all[i - 1]));
  const key = craKey();
  const profileDir = argv.includes('--profile') ? mkdtempSync(joinPath(tmpdir(), 'session-pairs-')) : undefined;
  const started = targets.map((target, i) => {
    const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', joinPath(profileDir, `${i}-${target.replace(/[^a-z0-9]+/gi, '_')}`)] : [];
    if (target === 'fox') return startFox(nodeArgs, true);
    if (target === 'relay' || target === 'bare') return startRouter(nodeArgs, '--relay-child');
    return startRouter(nodeArgs, '--router', target === 'switchyard' ? process.env : { ...process.env, SESSION_COST_DIST: target });
  });
  const urls = (await Promise.all(started.map((router) => router.ready))).map((ready) => ready.url);
  const cycle = (i) => (targets[i] === 'relay' || targets[i] === 'bare' ? echoAndClose(urls[i], targets[i] === 'relay' ? 3 : 0) : joinAndLeave(urls[i], key));
  const interleaved = (n) => pool(n * targets.length, loops, (k) => cycle(k % targets.length));
  await interleaved(1000); // warm-up: the JIT settles before the first window
  const perJoin = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const before = started.map((router) => cpuSeconds(router.child.pid));
    await interleaved(count);
    started.forEach((router, i) => perJoin[i].push((cpuSeconds(router.child.pid) - before[i]) * 1e6 / count));
  }
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  console.log(`router CPU per join, µs (${rounds} rounds of ${count} interleaved joins each; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}):`);
  targets.forEach((target, i) => console.log(`${mean(perJoin[i]).toFixed(0).padStart(6)}  ${target}   (rounds: ${perJoin[i].map((v) => v.toFixed(0)).join(' ')}; ${(mean(perJoin[0]) / mean(perJoin[i])).toFixed(2)}x the first's joins per CPU-s)`));
  started.forEach((router, i) => (targets[i] === 'fox' ? router.stop() : router.child.send({ op: 'stop' })));
  if (profileDir) {
    await Promise.all(started.map((router) => new Promise((resolve) => router.child.once('exit', resolve))));
    console.log(`profiles (warm-up included: ${1000 + rounds * count} joins each) in ${profileDir}`);
  }
}

/** The router's own work per step of a salted WAMP-CRA join, in this process (no sockets, no ws). */
async function steps() {
  const count = Number(flag('joins', '20000'));
  const rounds = Number(flag('rounds', '7'));
  const { validateConfig } = await import(new URL('router/config.js', DIST));
  const { createRouter } = await import(new URL('router/server.js', DIST));
  const { createLogger } = await import(new URL('router/log.js', DIST));
  const { jsonSerializer } = await import(new URL('router/serializer/json.js', DIST));
  const router = createRouter(validateConfig(routerConfig()), { logger: createLogger({ level: 'warn' }) });
  const key = craKey();
  const hello = Buffer.from(JSON.stringify([1, 'realm1', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} }, authmethods: ['wampcra'], authid: CRA.authid }]));
  const goodbye = Buffer.from(JSON.stringify([6, {}, 'wamp.close.normal']));
  const info = { type: 'websocket', remoteAddress: '127.0.0.1', peer: '127.0.0.1:40000', protocol: 'wamp.2.json' };
  // Answers prepared outside the timed steps: the client's HMAC is not the router's work.
  const answer = (challenge) => Buffer.from(JSON.stringify([5, createHmac('sha256', key).update(challenge).digest('base64'), {}]));
  const names = ['accept (session, timeout)', 'HELLO → CHALLENGE', 'AUTHENTICATE → WELCOME (join)', 'GOODBYE → GOODBYE (leave)', 'close'];
  const spent = names.map(() => []);
  const cpu = () => { const { user, system } = process.cpuUsage(); return user + system; };
  const settled = (transport) => (transport.last !== undefined ? undefined : new Promise((resolve) => { transport.wake = resolve; }));
  const run = async (n, timed) => {
    const totals = names.map(() => 0);
    for (let i = 0; i < n; i++) {
      const transport = { info, serializer: jsonSerializer, last: undefined, wake: undefined, bufferedBytes: () => 0, close() {},
        send(frame) { this.last = frame; this.wake?.(); } };
      let t = cpu();
      const lap = (step) => { const now = cpu(); totals[step] += now - t; t = now; };
      const session = router.accept(transport);
      lap(0);
      session.receive(hello, false);
      await settled(transport);
      lap(1);
      const reply = answer(JSON.parse(transport.last)[2].challenge);
      transport.last = undefined;
      t = cpu();
      session.receive(reply, false);
      await settled(transport);
      lap(2);
      session.receive(goodbye, false);
      lap(3);
      session.transportClosed(1000, '');
      lap(4);
    }
    if (timed) totals.forEach((total, step) => spent[step].push(total / n));
  };
  await run(5000, false);
  for (let r = 0; r < rounds; r++) await run(count, true);
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  let sum = 0;
  console.log(`router WAMP work per salted WAMP-CRA join, in process, ${count} joins × ${rounds} rounds (median µs; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}):`);
  names.forEach((name, step) => { const m = median(spent[step]); sum += m; console.log(`${m.toFixed(1).padStart(7)}  ${name}`); });
  console.log(`${sum.toFixed(1).padStart(7)}  total`);
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
else if (argv[0] === 'steps') await steps();
else if (argv[0] === 'pairs') await pairs();
else console.error('usage: node scripts/session-cost.mjs heap|rss|joins|steps|pairs [options]');
