import WebSocket from 'ws';
import { DEFAULT_LIMITS } from '../router/limits.js';
import { SERIALIZERS } from '../router/serializer/registry.js';
import type { SerializerName } from '../router/serializer/serializer.js';
import { HOSTILE_SHAPES, hostileCall, type HostileShape } from './lib/hostile-shapes.js';
import { log, PROFILE_DIR, startTarget } from './lib/harness.js';
import { REALM } from './lib/constants.js';
import { percentile } from './lib/stats.js';
import type { Context, Metric, ScenarioReport } from './scenarios.js';

/**
 * `hostile` (issue 13.4): one session sends the costliest shapes that fit in maxMessageBytes
 * back to back (one in flight), while another session calls a trivial procedure; reported is
 * that caller's p50/p99 latency and how the router answered the hostile CALLs (routed or
 * refused). The hostile frames are encoded once up front and the callee answers from the first
 * bytes of each INVOCATION, so the bench process itself decodes nothing large.
 */

const FORMATS: SerializerName[] = ['json', 'msgpack', 'cbor'];
/** Per shape and serializer; bounded so the whole scenario takes about a minute. */
const SECONDS_PER_CASE = 2;
const PROBE_GAP_MS = 2;

interface Socket {
  ws: WebSocket;
  /** Every frame received, raw. */
  onFrame(handler: (data: Buffer) => void): void;
}

async function join(url: string, serializer: SerializerName): Promise<Socket> {
  const s = SERIALIZERS[serializer];
  const ws = new WebSocket(url, [s.subprotocol]);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const welcome = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(s.encode([1, REALM, { roles: { caller: {}, callee: {} } }]));
  await welcome;
  return { ws, onFrame: (handler) => ws.on('message', (data: Buffer) => handler(data)) };
}

/** Message type and the request ID of a RESULT/ERROR answering a CALL, from a small frame. */
function answered(serializer: SerializerName, data: Buffer): number | undefined {
  const m = SERIALIZERS[serializer].decode(serializer === 'json' ? data.toString('utf8') : data) as unknown[];
  if (m[0] === 50) return m[1] as number;
  if (m[0] === 8) return m[2] as number;
  return undefined;
}

interface CaseResult { p50Ms: number; p99Ms: number; probes: number; hostileSent: number; refused: number }

async function runCase(url: string, shape: HostileShape | 'none', serializer: SerializerName): Promise<CaseResult> {
  const callee = await join(url, 'json');
  callee.ws.send(`[64,1,{},"bench.hostile"]`);
  callee.ws.send(`[64,2,{},"bench.probe"]`);
  callee.onFrame((data) => {
    const request = /^\[68,(\d+),/.exec(data.subarray(0, 40).toString('latin1'))?.[1];
    if (request) callee.ws.send(`[70,${request},{}]`);
  });
  const probe = await join(url, 'json');
  const hostile = await join(url, serializer);
  const frames = shape === 'none' ? [] : [1, 2].map((r) => hostileCall(shape, serializer, r, 'bench.hostile', DEFAULT_LIMITS.maxMessageBytes));
  let running = true;
  let sent = 0;
  let refused = 0;
  // The hostile session: one CALL in flight, the next as soon as it is answered.
  const sendNext = () => { if (running && frames.length > 0) hostile.ws.send(frames[sent++ % 2]!); };
  hostile.onFrame((data) => {
    if (data[0] === 0x5b ? data.subarray(0, 3).toString() === '[8,' : data[1] === 0x08) refused++;
    sendNext();
  });
  const latencies: number[] = [];
  let request = 0;
  let started = 0;
  let next: (() => void) | undefined;
  probe.onFrame((data) => { if (answered('json', data) === request) { latencies.push(performance.now() - started); next?.(); } });
  const deadline = performance.now() + SECONDS_PER_CASE * 1000;
  sendNext();
  while (performance.now() < deadline) {
    await new Promise<void>((resolve) => {
      next = resolve;
      request++;
      started = performance.now();
      probe.ws.send(`[48,${request},{},"bench.probe"]`);
    });
    await new Promise((resolve) => setTimeout(resolve, PROBE_GAP_MS));
  }
  running = false;
  for (const s of [callee, probe, hostile]) s.ws.terminate();
  latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), probes: latencies.length, hostileSent: sent, refused };
}

export async function hostile(ctx: Context): Promise<ScenarioReport> {
  const nodeArgs = ctx.options.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=switchyard-hostile-${ctx.stamp}.cpuprofile`] : [];
  const target = await startTarget('switchyard', { routerNodeArgs: nodeArgs });
  const metrics: Metric[] = [];
  const figures: Record<string, number> = {};
  try {
    const idle = await runCase(target.url, 'none', 'json');
    metrics.push({ name: 'probe p99 ms, no hostile load', kind: 'latency', switchyard: idle.p99Ms });
    for (const shape of HOSTILE_SHAPES) {
      for (const serializer of FORMATS) {
        const r = await runCase(target.url, shape, serializer);
        log(`hostile ${shape} ${serializer}: probe p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms (${r.probes} probes); ${r.hostileSent} hostile CALLs, ${r.refused} refused`);
        Object.assign(figures, { [`${shape}.${serializer}.p50Ms`]: r.p50Ms, [`${shape}.${serializer}.p99Ms`]: r.p99Ms, [`${shape}.${serializer}.sent`]: r.hostileSent, [`${shape}.${serializer}.refused`]: r.refused });
        metrics.push({ name: `probe p99 ms, ${shape} ${serializer} (${r.refused * 2 > r.hostileSent ? 'refused' : 'routed'})`, kind: 'latency', switchyard: r.p99Ms });
      }
    }
  } finally {
    await target.child.stop(ctx.options.profile ? 20_000 : 3000);
  }
  return {
    scenario: 'hostile',
    setup: `one session sends each shape at maxMessageBytes back to back for ${SECONDS_PER_CASE} s per shape and serializer; a json caller calls a trivial procedure every ${PROBE_GAP_MS} ms`,
    baseline: {}, switchyard: figures, metrics, notes: ['target: the probe caller\'s p99 <= 50 ms for every shape'], profiles: [],
  };
}
