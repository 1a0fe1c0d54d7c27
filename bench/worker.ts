import type WebSocket from 'ws';
import { FANOUT_TOPIC, PAYLOAD, PAYLOAD_JSON, PROCEDURE, TOPIC } from './lib/constants.js';
import { serve } from './lib/ipc.js';
import { LogHistogram, type Counters } from './lib/stats.js';
import {
  CODECS, join, nowMicros, nowMs, openSocket, pool, request, sendCorked, trailingInt, trailingInts, typeAndId, type Codec,
  type WireFormat,
} from './lib/wire.js';

/**
 * One client group of the load generator, in its own process. The parent sends `init` with a
 * role, waits for it to be set up (connected, joined, registered or subscribed), then `go`,
 * `snap` (counters, optionally the latency histogram) around the measured window, and `halt`.
 *
 * Roles:
 *   callers      N caller sessions, each with `window` CALLs in flight (or, mode relay, the
 *                same frames to a relay pair); latency per call; session i calls
 *                `procedures[i % length]`; ERROR URIs counted; with `timeline`, results and
 *                errors per 10 ms of wall-clock time (failover)
 *   responder    the callee (INVOCATION → YIELD; `procedure`, `invoke` policy) or the relay's
 *                echo side (CALL-shaped frame → RESULT-shaped frame)
 *   churn        N sessions, each looping REGISTER → UNREGISTER of its own procedure
 *   publisher    flood: `window` acknowledged PUBLISHes in flight; rate: N per second with a
 *                timestamp in the payload
 *   subscribers  N sessions subscribed to one topic; counts events, gaps, latency
 *   idle         N joined sessions that do nothing (or, mode relay, N plain connections)
 *   handshake    connect → HELLO → (CHALLENGE → AUTHENTICATE) → WELCOME → GOODBYE → close,
 *                in `concurrency` loops (mode relay: connect → close)
 */

type Mode = 'wamp' | 'relay';

interface RoleArgs {
  role: 'callers' | 'responder' | 'publisher' | 'subscribers' | 'idle' | 'handshake' | 'churn';
  url: string;
  realm: string;
  format: WireFormat;
  mode?: Mode;
  count?: number;
  window?: number;
  rate?: number;
  concurrency?: number;
  /** pair IDs start here in relay mode (several workers share one relay) */
  pairOffset?: number;
  latency?: boolean;
  auth?: { authid: string; key: string };
  maxOps?: number;
  /** callers: the procedures the sessions call (default [PROCEDURE]) */
  procedures?: string[];
  /** responder: the procedure registered (default PROCEDURE) */
  procedure?: string;
  /** responder: REGISTER's `invoke` option (shared registrations across nodes) */
  invoke?: string;
  /** callers: keep results and errors per 10 ms bucket */
  timeline?: boolean;
}

interface Role {
  counters: Counters;
  hist?: LogHistogram;
  info?: Record<string, unknown>;
  go?(): void;
  halt?(): Promise<void> | void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function relayUrl(base: string, pair: number, side: 'a' | 'b'): string {
  return `${base}?pair=${pair}&side=${side}`;
}

async function connect(a: RoleArgs, codec: Codec, i: number, side: 'a' | 'b'): Promise<WebSocket> {
  if (a.mode === 'relay') return openSocket(relayUrl(a.url, (a.pairOffset ?? 0) + i, side), codec.protocol);
  const ws = await openSocket(a.url, codec.protocol);
  await join(ws, codec, { realm: a.realm, auth: a.auth });
  return ws;
}

/** Waits until `done()` or `ms` elapse. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(20);
}

// ----- callers -----

/** Counts per 10 ms bucket of wall-clock time (epoch ms / 10), for the failover timeline. */
class Timeline {
  readonly ok = new Map<number, number>();
  readonly failed = new Map<number, number>();

  record(ok: boolean): void {
    const bucket = Math.floor(Date.now() / 10);
    const map = ok ? this.ok : this.failed;
    map.set(bucket, (map.get(bucket) ?? 0) + 1);
  }

  toJSON(): { ok: [number, number][]; failed: [number, number][] } {
    return { ok: [...this.ok], failed: [...this.failed] };
  }
}

/** The URI of an ERROR frame (`[8, 48, request, details, uri, …]`); errors are rare, so a full decode. */
function errorUri(codec: Codec, data: Buffer): string {
  try {
    const message = codec.decode(data);
    return typeof message[4] === 'string' ? message[4] : '?';
  } catch {
    return '?';
  }
}

async function callers(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { calls: 0, errors: 0, unexpected: 0, closed: 0, sent: 0 };
  const hist = new LogHistogram();
  const window = a.window ?? 100;
  const procedures = a.procedures ?? [PROCEDURE];
  const errorUris = new Map<string, number>();
  const timeline = a.timeline ? new Timeline() : undefined;
  let running = false;
  const starts: (() => void)[] = [];
  const json = codec.format === 'json';
  await pool(range(a.count ?? 1), 16, async (i) => {
    const ws = await connect(a, codec, i, 'a');
    const procedure = procedures[i % procedures.length]!;
    const sendTimes = new Float64Array(65536);
    let nextId = 1;
    const sendCall = () => {
      const id = nextId++;
      sendTimes[id & 0xffff] = performance.now();
      counters.sent++;
      sendCorked(ws, json ? `[48,${id},{},"${procedure}",${PAYLOAD_JSON}]` : codec.encode([48, id, {}, procedure, PAYLOAD]), codec.binary);
    };
    ws.on('message', (data: Buffer) => {
      const head = typeAndId(codec, data);
      if (!head) return void counters.unexpected++;
      if (head[0] === 50) {
        counters.calls++;
        hist.record(performance.now() - sendTimes[head[1] & 0xffff]!);
        timeline?.record(true);
      } else if (head[0] === 8) {
        counters.errors++;
        const uri = errorUri(codec, data);
        errorUris.set(uri, (errorUris.get(uri) ?? 0) + 1);
        timeline?.record(false);
      } else return void counters.unexpected++;
      if (running) sendCall();
    });
    ws.on('close', () => counters.closed++);
    starts.push(() => {
      for (let k = 0; k < window; k++) sendCall();
    });
  });
  return {
    counters, hist,
    get info() {
      return { errorUris: Object.fromEntries(errorUris), timeline: timeline?.toJSON() };
    },
    go() {
      running = true;
      for (const start of starts) start();
    },
    async halt() {
      running = false;
      await until(() => counters.calls + counters.errors >= counters.sent || counters.closed > 0, 3000);
    },
  };
}

// ----- responder: callee or relay echo -----

async function responder(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { answered: 0, unexpected: 0, closed: 0 };
  const relay = a.mode === 'relay';
  const inType = relay ? 48 : 68;
  const outType = relay ? 50 : 70;
  const json = codec.format === 'json';
  await pool(range(a.count ?? 1), 16, async (i) => {
    const ws = await connect(a, codec, i, 'b');
    if (!relay) await request(ws, codec, [64, 1, a.invoke ? { invoke: a.invoke } : {}, a.procedure ?? PROCEDURE], [65]);
    ws.on('message', (data: Buffer) => {
      const head = typeAndId(codec, data);
      if (!head || head[0] !== inType) return void counters.unexpected++;
      counters.answered++;
      sendCorked(ws, json ? `[${outType},${head[1]},{},${PAYLOAD_JSON}]` : codec.encode([outType, head[1], {}, PAYLOAD]), codec.binary);
    });
    ws.on('close', () => counters.closed++);
  });
  return { counters };
}

// ----- publisher -----

async function publisher(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { published: 0, sent: 0, errors: 0, unexpected: 0, closed: 0 };
  const ws = await connect(a, codec, 0, 'a');
  const json = codec.format === 'json';
  const rated = a.rate !== undefined;
  const topic = rated ? FANOUT_TOPIC : TOPIC;
  let running = false;
  let seq = 0;
  const publish = () => {
    const id = ++seq;
    counters.sent++;
    if (rated) {
      const ts = nowMicros();
      sendCorked(ws, json ? `[16,${id},{"acknowledge":true},"${topic}",[${id},${ts}]]` : codec.encode([16, id, { acknowledge: true }, topic, [id, ts]]), codec.binary);
    } else {
      sendCorked(ws, json ? `[16,${id},{"acknowledge":true},"${topic}",[${id}]]` : codec.encode([16, id, { acknowledge: true }, topic, [id]]), codec.binary);
    }
  };
  ws.on('message', (data: Buffer) => {
    const head = typeAndId(codec, data);
    if (!head) return void counters.unexpected++;
    if (head[0] === 17) counters.published++;
    else if (head[0] === 8) counters.errors++;
    else return void counters.unexpected++;
    if (running && !rated) publish();
  });
  ws.on('close', () => counters.closed++);

  let timer: NodeJS.Timeout | undefined;
  const tick = (start: number, intervalMs: number) => {
    if (!running) return;
    // Catch up after a late timer, but never burst more than 10 at once.
    const due = Math.floor((performance.now() - start) / intervalMs) + 1;
    for (let k = 0; k < 10 && seq < due; k++) publish();
    const next = start + seq * intervalMs;
    timer = setTimeout(() => tick(start, intervalMs), Math.max(0, next - performance.now()));
  };
  return {
    counters,
    go() {
      running = true;
      if (rated) tick(performance.now(), 1000 / a.rate!);
      else for (let k = 0; k < (a.window ?? 100); k++) publish();
    },
    async halt() {
      running = false;
      if (timer) clearTimeout(timer);
      await until(() => counters.published + counters.errors >= counters.sent || counters.closed > 0, 5000);
    },
  };
}

// ----- subscribers -----

async function subscribers(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { events: 0, gaps: 0, reordered: 0, unexpected: 0, closed: 0, subscribed: 0 };
  const hist = new LogHistogram();
  const latency = a.latency === true;
  const topic = latency ? FANOUT_TOPIC : TOPIC;
  const json = codec.format === 'json';
  const sockets: WebSocket[] = [];
  await pool(range(a.count ?? 1), a.concurrency ?? 32, async (i) => {
    const ws = await connect(a, codec, i, 'b');
    sockets.push(ws);
    await request(ws, codec, [32, 1, {}, topic], [33]);
    counters.subscribed++;
    let last = 0;
    ws.on('message', (data: Buffer) => {
      let seq: number | undefined;
      if (latency) {
        // `[36,…,[seq,microseconds]]`: read from the end, full decode only as a fallback.
        let args = json && data[1] === 0x33 && data[2] === 0x36 && data[3] === 0x2c ? trailingInts(data, 2) : undefined;
        if (!args) {
          const message = codec.decode(data);
          if (message[0] !== 36) return void counters.unexpected++;
          args = message[4] as number[];
        }
        seq = args[0];
        hist.record((nowMicros() - args[1]!) / 1000);
      } else if (json && data[1] === 0x33 && data[2] === 0x36 && data[3] === 0x2c && (seq = trailingInt(data)) !== undefined) {
        // fast path: `[36,…,[seq]]`
      } else {
        const message = codec.decode(data);
        if (message[0] !== 36) return void counters.unexpected++;
        seq = (message[4] as number[])[0];
      }
      if (seq === undefined) return void counters.unexpected++;
      counters.events++;
      if (seq > last + 1) counters.gaps += seq - last - 1;
      else if (seq <= last) counters.reordered++;
      if (seq > last) last = seq;
    });
    ws.on('close', () => counters.closed++);
  });
  return { counters, hist, info: { sockets: sockets.length } };
}

// ----- idle sessions -----

async function idle(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { joined: 0, failed: 0, closed: 0 };
  const sockets: WebSocket[] = [];
  const errors = new Map<string, number>();
  await pool(range(a.count ?? 1), a.concurrency ?? 64, async (i) => {
    try {
      const ws = await connect(a, codec, i, 'a');
      sockets.push(ws);
      counters.joined++;
      ws.on('close', () => counters.closed++);
    } catch (error) {
      counters.failed++;
      const text = (error as Error).message;
      errors.set(text, (errors.get(text) ?? 0) + 1);
    }
  });
  return { counters, info: { errors: Object.fromEntries(errors) } };
}

// ----- handshake -----

async function handshake(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { joins: 0, failed: 0 };
  const errors = new Map<string, number>();
  const maxOps = a.maxOps ?? 10_000;
  let running = false;
  let started = 0;
  const loops: Promise<void>[] = [];
  const once = async () => {
    let ws: WebSocket | undefined;
    try {
      ws = await openSocket(a.url, codec.protocol);
      if (a.mode === 'relay') {
        counters.joins++;
        ws.close();
        return;
      }
      await join(ws, codec, { realm: a.realm, auth: a.auth });
      counters.joins++;
      const socket = ws;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        socket.on('message', (data: Buffer) => {
          if (codec.decode(data)[0] === 6) finish();
        });
        socket.once('close', finish);
        socket.send(codec.encode([6, {}, 'wamp.close.normal']), { binary: codec.binary });
      });
      socket.close();
    } catch (error) {
      counters.failed++;
      const text = (error as Error).message;
      errors.set(text, (errors.get(text) ?? 0) + 1);
      ws?.terminate();
      await sleep(20);
    }
  };
  const loop = async () => {
    while (running && started < maxOps) {
      started++;
      await once();
    }
  };
  return {
    counters,
    get info() {
      return { errors: Object.fromEntries(errors) };
    },
    go() {
      running = true;
      for (let i = 0; i < (a.concurrency ?? 8); i++) loops.push(loop());
    },
    async halt() {
      running = false;
      await Promise.race([Promise.all(loops), sleep(6000)]);
    },
  };
}

// ----- registration churn -----

/**
 * Each session registers its own procedure and unregisters it again, one request at a time, until
 * halted or `maxOps` cycles in all; latency per REGISTER + UNREGISTER cycle. In a cluster each
 * REGISTER is a compare-and-set in the KV registry and each UNREGISTER an update of it.
 */
async function churn(a: RoleArgs): Promise<Role> {
  const codec = CODECS[a.format];
  const counters = { cycles: 0, failed: 0 };
  const hist = new LogHistogram();
  const errors = new Map<string, number>();
  const maxOps = a.maxOps ?? 100_000;
  const sockets = await Promise.all(range(a.count ?? 1).map((i) => connect(a, codec, i, 'a')));
  let running = false;
  let started = 0;
  const loops: Promise<void>[] = [];
  const loop = async (ws: WebSocket, session: number) => {
    let id = 1;
    while (running && started < maxOps) {
      started++;
      const t0 = performance.now();
      try {
        const registered = await request(ws, codec, [64, id++, {}, `bench.churn.${process.pid}.${session}.${started}`], [65]);
        await request(ws, codec, [66, id++, registered[2]], [67]);
        counters.cycles++;
        hist.record(performance.now() - t0);
      } catch (error) {
        counters.failed++;
        const text = (error as Error).message.slice(0, 200);
        errors.set(text, (errors.get(text) ?? 0) + 1);
        if (ws.readyState !== ws.OPEN) return;
      }
    }
  };
  return {
    counters, hist,
    get info() {
      return { errors: Object.fromEntries(errors) };
    },
    go() {
      running = true;
      sockets.forEach((ws, i) => loops.push(loop(ws, i)));
    },
    async halt() {
      running = false;
      await Promise.race([Promise.all(loops), sleep(12_000)]);
    },
  };
}

const ROLES: Record<RoleArgs['role'], (a: RoleArgs) => Promise<Role>> = { callers, responder, publisher, subscribers, idle, handshake, churn };

let role: Role | undefined;

serve({
  async init(args: RoleArgs) {
    role = await ROLES[args.role](args);
    return { pid: process.pid, ...role.info, counters: role.counters };
  },
  go() {
    role?.go?.();
    return true;
  },
  snap(args: { resetHist?: boolean } = {}) {
    if (!role) throw new Error('no role');
    const result = { at: nowMs(), counters: { ...role.counters }, hist: role.hist?.toJSON() };
    if (args.resetHist) role.hist?.reset();
    return result;
  },
  async halt() {
    await role?.halt?.();
    return { counters: role?.counters ?? {}, info: role?.info, hist: role?.hist?.toJSON() };
  },
  stop() {
    setImmediate(() => process.exit(0));
    return true;
  },
});
