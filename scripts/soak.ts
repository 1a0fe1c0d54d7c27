/**
 * Soak (reliability §2.12 item 25), outside CI: `npm run soak -- --minutes 5`.
 *
 * The router runs in a child process (started with --expose-gc, so its memory is measured alone);
 * this process runs 200 clients over WebSocket (json, msgpack, cbor) and RawSocket: callees of one
 * shared round-robin procedure, callers, publishers, subscribers, and a few subscribers that stall
 * (stop reading for a while). Every second a few random clients are dropped, some in the middle of a
 * call, and reconnect shortly after. Every `--interval` seconds (10) the router is asked for RSS and
 * heapUsed after GC. The run fails on a router crash, on a call that gets no answer at all within
 * the call timeout, or on steady heap growth after warm-up. Bounded: at most 60 minutes.
 *
 * Options: --minutes N (default 5), --clients N (default 200), --interval S (default 10).
 */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../router/config.js';
import { createRouter } from '../router/server.js';
import type { SerializerName } from '../router/serializer/serializer.js';
import { RawClient } from '../test/helpers/raw-client.js';
import { RawSocketClient } from '../test/helpers/rawsocket-client.js';

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  connections: number;
  subscriptions: number;
  registrations: number;
  pendingCalls: number;
}

type FromRouter = { type: 'ready'; ws: string; rsPort: number } | ({ type: 'sample' } & Omit<Sample, 't'>);

const PROCEDURE = 'com.example.soak.rpc';
const TOPICS = 10;
const CALL_TIMEOUT_MS = 10_000;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- router side (child process)

async function runRouter(): Promise<void> {
  const config = validateConfig({
    listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
    limits: { maxConnectionsPerIp: 2000, closeHandshakeTimeoutMs: 1000, maxOutboundBytesPerSession: 1024 * 1024, writeStallTimeoutMs: 3000 },
    realms: [{
      name: 'realm1',
      roles: [{ name: 'anonymous', permissions: [{ uri: 'com.example.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }],
      auth: { anonymous: { role: 'anonymous' } },
    }],
    log: { level: 'silent' },
  });
  const router = createRouter(config);
  const addresses = await router.listen();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'sample') {
      gc?.();
      gc?.();
      const memory = process.memoryUsage();
      const realm = router.realms.get('realm1')!;
      process.send!({
        type: 'sample', rss: memory.rss, heapUsed: memory.heapUsed, connections: router.connectionCount,
        subscriptions: realm.broker.subscriptionCount, registrations: realm.dealer.registrationCount, pendingCalls: realm.dealer.pendingCallCount,
      });
    } else if (message.type === 'stop') {
      await router.close();
      process.exit(0);
    }
  });
  process.send!({ type: 'ready', ws: addresses[0]!.url, rsPort: addresses[1]!.port });
}

// ---------------------------------------------------------------- client side

interface Options {
  minutes: number;
  clients: number;
  intervalSeconds: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { minutes: 5, clients: 200, intervalSeconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--minutes') options.minutes = value;
    else if (argv[i] === '--clients') options.clients = value;
    else if (argv[i] === '--interval') options.intervalSeconds = value;
    else continue;
    i++;
  }
  if (!(options.minutes > 0 && options.minutes <= 60)) throw new Error('--minutes must be in (0, 60]');
  if (!(options.clients >= 10 && options.clients <= 2000)) throw new Error('--clients must be in [10, 2000]');
  if (!(options.intervalSeconds >= 1 && options.intervalSeconds <= 600)) throw new Error('--interval must be in [1, 600]');
  return options;
}

/** What a client role needs of a connection, over either transport. */
interface Wire {
  send(message: unknown[]): void;
  onMessage(handler: (message: unknown[]) => void): void;
  closed: Promise<void>;
  drop(): void;
  pause(): void;
  resume(): void;
}

async function connectWire(target: { ws: string; rsPort: number }, n: number): Promise<Wire> {
  const serializer: SerializerName = (['json', 'msgpack', 'cbor'] as const)[n % 3]!;
  if (n % 4 === 3) {
    const { client } = await RawSocketClient.joined(target.rsPort, { serializer });
    return {
      send: (m) => client.send(m),
      onMessage: (handler) => client.socket.on('data', () => {
        for (const f of client.frames.splice(0)) if (f.type === 0) handler(client.serializer.decode(client.serializer.binary ? f.payload : f.payload.toString()) as unknown[]);
      }),
      closed: client.closed,
      drop: () => client.destroy(),
      pause: () => client.socket.pause(),
      resume: () => client.socket.resume(),
    };
  }
  const { client } = await RawClient.joined(target.ws, serializer);
  return {
    send: (m) => client.send(m),
    onMessage: (handler) => client.ws.on('message', () => { for (const m of client.received.splice(0)) handler(m); }),
    closed: client.closed,
    drop: () => client.ws.terminate(),
    pause: () => (client.ws as unknown as { _socket: { pause(): void } })._socket.pause(),
    resume: () => (client.ws as unknown as { _socket: { resume(): void } })._socket.resume(),
  };
}

type Role = 'callee' | 'caller' | 'publisher' | 'subscriber' | 'staller';

interface Counters {
  calls: number;
  results: number;
  callErrors: number;
  unanswered: number;
  published: number;
  events: number;
  drops: number;
  reconnects: number;
  connectFailures: number;
}

class SoakClient {
  private wire: Wire | undefined;
  private timers: NodeJS.Timeout[] = [];
  private request = 0;
  private readonly pending = new Map<number, NodeJS.Timeout>();
  stopped = false;

  constructor(private readonly n: number, private readonly role: Role, private readonly target: { ws: string; rsPort: number }, private readonly counters: Counters) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    let wire: Wire;
    try {
      wire = await connectWire(this.target, this.n);
    } catch {
      this.counters.connectFailures++;
      this.later(() => this.start(), 500);
      return;
    }
    this.wire = wire;
    wire.onMessage((m) => this.onMessage(m));
    wire.closed.then(() => this.onClosed(wire));
    switch (this.role) {
      case 'callee':
        wire.send([64, ++this.request, { invoke: 'roundrobin' }, PROCEDURE]);
        break;
      case 'caller':
        this.every(50 + (this.n % 100), () => this.call());
        break;
      case 'publisher':
        this.every(100 + (this.n % 100), () => {
          wire.send([16, ++this.request, {}, `com.example.soak.topic${this.n % TOPICS}`, [this.n, Date.now()], { pad: 'x'.repeat(this.n % 500) }]);
          this.counters.published++;
        });
        break;
      case 'subscriber':
      case 'staller':
        for (let t = 0; t < TOPICS; t += 1 + (this.n % 3)) wire.send([32, ++this.request, {}, `com.example.soak.topic${t}`]);
        if (this.role === 'staller') {
          // Stop reading for 1–4 s now and then: sometimes long enough to be cut off as a slow consumer.
          this.every(5000, () => {
            wire.pause();
            this.later(() => wire.resume(), 1000 + Math.random() * 3000);
          });
        }
        break;
    }
  }

  private call(): void {
    const request = ++this.request;
    this.counters.calls++;
    this.wire?.send([48, request, {}, PROCEDURE, [this.n, request]]);
    this.pending.set(request, setTimeout(() => {
      this.pending.delete(request);
      this.counters.unanswered++;
    }, CALL_TIMEOUT_MS));
  }

  private onMessage(m: unknown[]): void {
    const type = m[0];
    if (type === 68) {
      // INVOCATION: answer after 0–20 ms (some answers race with a drop).
      const [, request, , , args] = m as [number, number, unknown, unknown, unknown[]];
      this.later(() => this.wire?.send([70, request, {}, args ?? []]), Math.random() * 20);
    } else if (type === 50 || (type === 8 && m[1] === 48)) {
      const request = m[type === 50 ? 1 : 2] as number;
      const timer = this.pending.get(request);
      if (timer) {
        clearTimeout(timer);
        this.pending.delete(request);
        if (type === 50) this.counters.results++;
        else this.counters.callErrors++;
      }
    } else if (type === 36) {
      this.counters.events++;
    }
  }

  private onClosed(wire: Wire): void {
    if (wire !== this.wire) return;
    this.wire = undefined;
    this.clearTimers();
    // Calls in flight on a dropped connection cannot be answered any more: not "unanswered".
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    if (!this.stopped) {
      this.counters.reconnects++;
      this.later(() => this.start(), 100 + Math.random() * 400);
    }
  }

  drop(): void {
    if (!this.wire) return;
    this.counters.drops++;
    this.wire.drop();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.wire?.drop();
    for (const timer of this.pending.values()) clearTimeout(timer);
  }

  private every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers = this.timers.filter((t) => t !== timer);
      fn();
    }, ms);
    this.timers.push(timer);
  }

  private clearTimers(): void {
    for (const timer of this.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.timers = [];
  }
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * Steady growth: after warm-up, heapUsed after GC rises in most intervals, the fitted trend over
 * the run is more than 4 MiB and 10 % of the starting heap, and the last third sits above the first.
 */
export function steadyGrowth(heap: number[]): { growing: boolean; reason: string } {
  const warm = heap.slice(Math.min(2, Math.max(0, heap.length - 4)));
  if (warm.length < 4) return { growing: false, reason: `too few samples after warm-up (${warm.length}) to judge` };
  const rises = warm.slice(1).filter((v, i) => v > warm[i]!).length / (warm.length - 1);
  const trend = slope(warm.map((v, i) => [i, v])) * (warm.length - 1);
  const third = Math.max(1, Math.floor(warm.length / 3));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const firstThird = mean(warm.slice(0, third));
  const lastThird = mean(warm.slice(-third));
  const growing = rises >= 0.7 && trend > Math.max(4 * MiB, 0.1 * warm[0]!) && lastThird > firstThird;
  return {
    growing,
    reason: `rises in ${(rises * 100).toFixed(0)}% of intervals, trend ${(trend / MiB).toFixed(1)} MiB over the run, first third ${(firstThird / MiB).toFixed(1)} MiB → last third ${(lastThird / MiB).toFixed(1)} MiB`,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--router'], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let crashed: string | undefined;
  let stopping = false;
  child.on('exit', (code, signal) => { if (!stopping) crashed = `router process exited (${code ?? signal})`; });
  const waiters: ((m: FromRouter) => void)[] = [];
  child.on('message', (m: FromRouter) => waiters.shift()?.(m));
  const ask = (type: string) => new Promise<FromRouter>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`router did not answer ${type}`)), 30_000);
    waiters.push((m) => { clearTimeout(timer); resolve(m); });
    if (type !== 'ready') child.send({ type });
  });
  const ready = await ask('ready');
  if (ready.type !== 'ready') throw new Error('unexpected message from the router');
  const target = { ws: ready.ws, rsPort: ready.rsPort };

  const counters: Counters = { calls: 0, results: 0, callErrors: 0, unanswered: 0, published: 0, events: 0, drops: 0, reconnects: 0, connectFailures: 0 };
  const roles: Role[] = [];
  for (let i = 0; i < options.clients; i++) {
    const slot = i % 20;
    roles.push(slot < 3 ? 'callee' : slot < 9 ? 'caller' : slot < 13 ? 'publisher' : slot < 19 ? 'subscriber' : 'staller');
  }
  const clients = roles.map((role, n) => new SoakClient(n, role, target, counters));
  for (let i = 0; i < clients.length; i += 20) await Promise.all(clients.slice(i, i + 20).map((c) => c.start()));
  console.log(`soak: ${options.clients} clients (${roles.filter((r) => r === 'callee').length} callees, ${roles.filter((r) => r === 'caller').length} callers, ` +
    `${roles.filter((r) => r === 'publisher').length} publishers, ${roles.filter((r) => r === 'subscriber').length} subscribers, ${roles.filter((r) => r === 'staller').length} stalling subscribers) ` +
    `for ${options.minutes} min, sampling every ${options.intervalSeconds} s`);

  // Random drops: about 1 % of the clients every second.
  const dropper = setInterval(() => {
    for (let k = 0; k < Math.max(1, Math.round(options.clients / 100)); k++) clients[Math.floor(Math.random() * clients.length)]!.drop();
  }, 1000);

  const samples: Sample[] = [];
  const started = Date.now();
  const end = started + options.minutes * 60_000;
  console.log('   t(s)   rss(MiB)  heap(MiB)  conns  subs  regs  pending   calls  results  errors  unanswered  events  drops');
  while (Date.now() < end && !crashed) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalSeconds * 1000, Math.max(0, end - Date.now()))));
    if (crashed) break;
    const s = await ask('sample');
    if (s.type !== 'sample') continue;
    const sample: Sample = { t: (Date.now() - started) / 1000, ...s };
    samples.push(sample);
    console.log(`${sample.t.toFixed(0).padStart(7)} ${(sample.rss / MiB).toFixed(1).padStart(10)} ${(sample.heapUsed / MiB).toFixed(1).padStart(10)} ` +
      `${String(sample.connections).padStart(6)} ${String(sample.subscriptions).padStart(5)} ${String(sample.registrations).padStart(5)} ${String(sample.pendingCalls).padStart(8)} ` +
      `${String(counters.calls).padStart(7)} ${String(counters.results).padStart(8)} ${String(counters.callErrors).padStart(7)} ${String(counters.unanswered).padStart(11)} ` +
      `${String(counters.events).padStart(7)} ${String(counters.drops).padStart(6)}`);
  }

  clearInterval(dropper);
  for (const client of clients) client.stop();
  stopping = true;
  if (!crashed) {
    child.send({ type: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
  }

  const problems: string[] = [];
  if (crashed) problems.push(crashed);
  if (counters.unanswered > 0) problems.push(`${counters.unanswered} calls got no answer within ${CALL_TIMEOUT_MS} ms`);
  if (counters.results === 0) problems.push('no call succeeded');
  const heap = steadyGrowth(samples.map((s) => s.heapUsed));
  const rss = steadyGrowth(samples.map((s) => s.rss));
  console.log(`heapUsed after GC: ${heap.reason}`);
  console.log(`rss: ${rss.reason}`);
  if (heap.growing) problems.push(`heapUsed after GC grows steadily (${heap.reason})`);
  console.log(`calls ${counters.calls}, results ${counters.results}, call errors ${counters.callErrors}, unanswered ${counters.unanswered}, ` +
    `published ${counters.published}, events ${counters.events}, drops ${counters.drops}, reconnects ${counters.reconnects}, connect failures ${counters.connectFailures}`);
  if (problems.length > 0) {
    console.error(`soak FAILED:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log('soak passed');
  process.exit(0);
}

if (process.argv.includes('--router')) {
  runRouter().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
