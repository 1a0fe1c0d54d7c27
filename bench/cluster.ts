import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import type { ClusterScenarioName } from './lib/args.js';
import { PROCEDURE, REALM } from './lib/constants.js';
import {
  goAll, haltAll, log, measure, sleep, startTarget, startWorkers, stopAll, type Target, type Window, type WorkerSpec,
} from './lib/harness.js';
import type { Child } from './lib/ipc.js';
import { natsServerMissing, startBenchNats, type NatsServer } from './lib/nats.js';
import { sampleProcess } from './lib/proc.js';
import { check } from './lib/report.js';
import { rate, ratio } from './lib/stats.js';
import { formatNumber, formatRatio } from './lib/table.js';
import {
  fanoutOutcome, newProfiles, num, round, routerNodeArgs, windowFigures, type Context, type Figures, type ScenarioReport,
} from './scenarios.js';

/**
 * The cluster scenarios of issue 15 (K1–K7 of shared/cluster-nats.md §4; K5 and K8 are not run).
 * Each run starts its own nats-server (fresh JetStream store) and 1–3 router children with a
 * `cluster` section (nodes a, b, c), places every client role on the node the scenario says
 * (per-role URLs), and counts the nats-server's CPU with the routers'. Everything is stopped by
 * PID at the end of each run, also on error (and on SIGINT: lib/cleanup.ts).
 */

const NODE_IDS = ['a', 'b', 'c'] as const;

/** Heartbeat and dead-after times of a node (the config's defaults unless a scenario says). */
interface Timing {
  heartbeatMs: number;
  deadAfterMs: number;
}

const DEFAULT_TIMING: Timing = { heartbeatMs: 1000, deadAfterMs: 3000 };
/** The times test/helpers/cluster.ts uses: failover in well under a second. */
const FAST_TIMING: Timing = { heartbeatMs: 100, deadAfterMs: 600 };

export interface Cluster {
  /** undefined: plain single routers, no `cluster` section, no NATS */
  nats?: NatsServer;
  nodes: Target[];
  workers: Child[];
  /** router pids and the nats-server's: what the CPU figures count */
  pids: number[];
  /** taskset CPU list for client workers (with --pin) */
  clientCpus?: string;
}

// ------------------------------------------------------------ placement of processes on CPUs

/** With --pin: node i on CPU i, nats-server on CPUs 3-4, the load generators on 5 and up. */
const PIN_MIN_CPUS = 8;

function pinning(ctx: Context): { node: (i: number) => string; nats: string; clients: string } | undefined {
  if (!ctx.options.pin) return undefined;
  const count = cpus().length;
  if (count < PIN_MIN_CPUS) throw new Error(`--pin needs at least ${PIN_MIN_CPUS} CPUs (this machine has ${count})`);
  return { node: (i) => String(i), nats: '3-4', clients: `5-${count - 1}` };
}

/** Pin a running process and all its threads (nats-server is started by the tests' launcher). */
function pinProcess(pid: number, list: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
}

// ------------------------------------------------------------ starting and stopping

/**
 * `count` routers, as nodes a, b, c of one cluster over a fresh nats-server (`clustered`), or a
 * single router without a `cluster` section; `body` runs with them; everything is stopped after.
 */
async function withCluster<T>(ctx: Context, label: string, count: number, clustered: boolean, body: (c: Cluster) => Promise<T>, timing = DEFAULT_TIMING): Promise<T> {
  const pin = pinning(ctx);
  const cluster: Cluster = { nodes: [], workers: [], pids: [], clientCpus: pin?.clients };
  try {
    if (clustered) {
      cluster.nats = await startBenchNats();
      if (pin) pinProcess(cluster.nats.pid, pin.nats);
    }
    for (let i = 0; i < count; i++) {
      const start = cluster.nats ? { cluster: { nats: cluster.nats.url, node: NODE_IDS[i], ...timing } } : undefined;
      const routerArgs = routerNodeArgs(ctx, `${label}-${NODE_IDS[i]}`);
      cluster.nodes.push(await startTarget('switchyard', { start, cpus: pin?.node(i), routerNodeArgs: routerArgs }));
    }
    cluster.pids = [...cluster.nodes.map((n) => n.pid), ...(cluster.nats ? [cluster.nats.pid] : [])];
    return await body(cluster);
  } finally {
    // With --profile a router writes its profile at exit: give it the time.
    await Promise.all(cluster.nodes.map((n) => n.child.stop(ctx.options.profile ? 20_000 : 3000)));
    await stopAll(cluster.workers);
    await cluster.nats?.stop();
  }
}

export async function workers(c: Cluster, name: string, specs: WorkerSpec[]): Promise<Child[]> {
  const started = await startWorkers(name, specs, 120_000, c.clientCpus);
  c.workers.push(...started);
  return started;
}

/** Enough for a registration or subscription made on one node to be seen by the others (KV watch). */
const PROPAGATION_MS = 500;

export function callee(url: string, procedure: string, invoke?: string): WorkerSpec {
  return { role: 'responder', url, realm: REALM, format: 'json', mode: 'wamp', count: 1, procedure, invoke };
}

export function callers(url: string, count: number, window: number, procedures: string[], timeline = false): WorkerSpec {
  return { role: 'callers', url, realm: REALM, format: 'json', mode: 'wamp', count, window, procedures, timeline };
}

/** CPU seconds of one process since start (NaN once gone). */
function cpuOf(pid: number | undefined): number {
  return pid === undefined ? NaN : sampleProcess(pid)?.cpuSeconds ?? NaN;
}

interface LoadResult {
  w: Window;
  /** the nats-server's share of w.routerCpu */
  natsCpu: number;
}

/**
 * Warm-up before a cluster window: at least 3 s (1 s with --quick). Cross-node load starts slow
 * (cold JIT for the NATS client and CBOR envelopes; few messages per event-loop turn, so little
 * write batching and much CPU per call) and took up to 4 s here to reach its steady rate.
 */
function warmupMs(ctx: Context): number {
  return 1000 * Math.max(ctx.options.warmupSeconds, ctx.options.quick ? 1 : 3);
}

/** Start `driving`, warm up, measure a window over every worker of the cluster, halt `driving`. */
export async function loadWindow(ctx: Context, c: Cluster, driving: Child[], seconds = ctx.options.seconds): Promise<LoadResult> {
  await goAll(driving);
  await sleep(warmupMs(ctx));
  const nats0 = cpuOf(c.nats?.pid);
  const w = await measure(c.workers, c.pids, seconds);
  const natsCpu = c.nats ? cpuOf(c.nats.pid) - nats0 : 0;
  await haltAll(driving);
  return { w, natsCpu };
}

export function callFigures(r: LoadResult): Figures {
  const calls = r.w.counters.calls ?? 0;
  return {
    callsPerSecond: round(rate(calls, r.w.seconds), 0),
    p50Ms: round(r.w.hist.percentile(50), 3),
    p99Ms: round(r.w.hist.percentile(99), 3),
    errors: r.w.counters.errors ?? 0,
    natsCpuSeconds: round(r.natsCpu, 3),
    callsPerCpuSecond: r.w.routerCpu > 0 ? round(calls / r.w.routerCpu, 0) : NaN,
    ...windowFigures(r.w, calls),
  };
}

export function newReport(scenario: string, setup: string): ScenarioReport {
  const [one, five] = loadavg();
  return {
    scenario, setup, baseline: {}, metrics: [], notes: [`load average at start ${one!.toFixed(2)} (5 min ${five!.toFixed(2)})`],
    profiles: [], compared: [], checks: [],
  };
}

function prefixed(parts: Record<string, Figures>): Figures {
  const out: Figures = {};
  for (const [prefix, figures] of Object.entries(parts)) for (const [k, v] of Object.entries(figures)) out[`${prefix}.${k}`] = v;
  return out;
}

function mean(values: (number | undefined)[]): number | undefined {
  const real = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return real.length > 0 ? real.reduce((a, b) => a + b, 0) / real.length : undefined;
}

// ------------------------------------------------------------ K1: cluster mode, local traffic

/**
 * One node, caller and callee on it, without and with `cluster`, alternated (off, on, off, on)
 * so drift of the shared machine hits both alike. Local calls must not touch NATS.
 */
async function k1(ctx: Context): Promise<ScenarioReport> {
  const { callers: n, window } = ctx.options;
  const report = newReport('K1 local traffic', `1 node; ${n} callers x ${window} in flight and 1 callee on it; without vs with "cluster"; alternated`);
  const order = ctx.options.quick ? [false, true] : [false, true, false, true];
  const runs: Figures[] = [];
  for (const [i, clustered] of order.entries()) {
    log(`  K1 run ${i + 1}/${order.length}: ${clustered ? 'with' : 'without'} cluster`);
    runs.push(await withCluster(ctx, `k1-${clustered ? 'cluster' : 'plain'}-${i + 1}`, 1, clustered, async (c) => {
      const url = c.nodes[0]!.url;
      await workers(c, 'k1-callee', [callee(url, PROCEDURE)]);
      const driving = await workers(c, 'k1-callers', [callers(url, n, window, [PROCEDURE])]);
      return { clustered, ...callFigures(await loadWindow(ctx, c, driving)) };
    }));
  }
  report.switchyard = prefixed(Object.fromEntries(runs.map((r, i) => [`run${i + 1}${r.clustered ? 'Cluster' : 'Plain'}`, r])));
  const pick = (clustered: boolean, key: string) => mean(runs.filter((r) => r.clustered === clustered).map((r) => num(r, key)));
  const versus = 'without cluster';
  report.compared!.push(
    { metric: 'calls/s', unit: 'rate', value: pick(true, 'callsPerSecond'), reference: pick(false, 'callsPerSecond'), versus },
    { metric: 'p50 ms', unit: 'ms', value: pick(true, 'p50Ms'), reference: pick(false, 'p50Ms'), versus },
    { metric: 'p99 ms', unit: 'ms', value: pick(true, 'p99Ms'), reference: pick(false, 'p99Ms'), versus },
    { metric: 'router+NATS CPU s/1k calls', unit: 'cpu', value: pick(true, 'routerCpuSecondsPer1k'), reference: pick(false, 'routerCpuSecondsPer1k'), versus },
    { metric: 'nats-server CPU s in window', unit: 'cpu', value: pick(true, 'natsCpuSeconds') },
  );
  const ratioCalls = ratio(pick(true, 'callsPerSecond'), pick(false, 'callsPerSecond'));
  report.checks!.push(check('K1 local calls/s with cluster >= 0.97x without', ratioCalls, (v) => v >= 0.97, formatRatio, 'missing run'));
  report.notes.push(`calls/s per run: ${runs.map((r) => `${r.clustered ? 'on' : 'off'} ${formatNumber(num(r, 'callsPerSecond'))}`).join(', ')}`);
  return report;
}

// ------------------------------------------------------------ K2: cross-node latency

/** Two nodes; one caller with one call in flight on A; callee on A, then callee on B. */
async function k2(ctx: Context): Promise<ScenarioReport> {
  const report = newReport('K2 cross-node latency', '2 nodes; 1 caller on A, window 1; callee on A (local) vs callee on B (cross-node)');
  const figures = await withCluster(ctx, 'k2', 2, true, async (c) => {
    const [a, b] = c.nodes.map((n) => n.url) as [string, string];
    await workers(c, 'k2-callees', [callee(a, 'bench.k2.local'), callee(b, 'bench.k2.remote')]);
    await sleep(PROPAGATION_MS);
    const out: Record<string, Figures> = {};
    for (const where of ['local', 'remote'] as const) {
      log(`  K2 ${where}`);
      const driving = await workers(c, `k2-caller-${where}`, [callers(a, 1, 1, [`bench.k2.${where}`])]);
      out[where] = callFigures(await loadWindow(ctx, c, driving));
      await stopAll(driving);
      c.workers = c.workers.filter((w) => !driving.includes(w));
    }
    return out;
  });
  report.switchyard = prefixed(figures);
  const { local, remote } = figures as { local: Figures; remote: Figures };
  const added = (key: string) => {
    const r = num(remote, key);
    const l = num(local, key);
    return r !== undefined && l !== undefined ? r - l : undefined;
  };
  const versus = 'callee on A';
  report.compared!.push(
    { metric: 'p50 ms, callee on B', unit: 'ms', value: num(remote, 'p50Ms'), reference: num(local, 'p50Ms'), versus },
    { metric: 'p99 ms, callee on B', unit: 'ms', value: num(remote, 'p99Ms'), reference: num(local, 'p99Ms'), versus },
    { metric: 'added p50 ms', unit: 'ms', value: added('p50Ms') },
    { metric: 'added p99 ms', unit: 'ms', value: added('p99Ms') },
    { metric: 'calls/s (window 1), callee on B', unit: 'rate', value: num(remote, 'callsPerSecond'), reference: num(local, 'callsPerSecond'), versus },
  );
  report.checks!.push(check('K2 cross-node call adds <= 1 ms at p50', added('p50Ms'), (v) => v <= 1, (v) => `${formatNumber(v)} ms`, 'missing run'));
  return report;
}

// ------------------------------------------------------------ K3: 1 vs 2 vs 3 nodes

/** Caller sessions in all, split evenly over the nodes (12 divides by 1, 2, 3 and by 2 again). */
const K3_SESSIONS = 12;

/**
 * n nodes; on each a callee of its own procedure and K3_SESSIONS / n caller sessions, half of
 * them calling their own node's procedure and half the next node's: 50 % of the calls cross
 * nodes (none with one node, which runs without `cluster`: what a single router does).
 */
async function k3(ctx: Context): Promise<ScenarioReport> {
  const window = Math.max(1, Math.round(ctx.options.window / 2));
  const report = newReport('K3 1 vs 2 vs 3 nodes', `${K3_SESSIONS} caller sessions x ${window} in flight split evenly over the nodes, a callee per node, 50 % of calls to the next node's callee; 1 node = no cluster`);
  const runs: Figures[] = [];
  for (const n of [1, 2, 3]) {
    log(`  K3 ${n} node(s)`);
    runs.push(await withCluster(ctx, `k3-${n}`, n, n > 1, async (c) => {
      const urls = c.nodes.map((node) => node.url);
      const proc = (i: number) => `bench.k3.${NODE_IDS[i % n]}`;
      await workers(c, `k3-callees-${n}`, urls.map((url, i) => callee(url, proc(i))));
      if (n > 1) await sleep(PROPAGATION_MS);
      const driving = await workers(c, `k3-callers-${n}`, urls.map((url, i) => callers(url, K3_SESSIONS / n, window, n > 1 ? [proc(i), proc(i + 1)] : [proc(i)])));
      return { nodes: n, ...callFigures(await loadWindow(ctx, c, driving)) };
    }));
  }
  report.switchyard = prefixed(Object.fromEntries(runs.map((r) => [`nodes${r.nodes}`, r])));
  const [one] = runs;
  for (const r of runs.slice(1)) {
    const versus = '1 node';
    report.compared!.push(
      { metric: `${r.nodes} nodes: total calls/s`, unit: 'rate', value: num(r, 'callsPerSecond'), reference: num(one, 'callsPerSecond'), versus },
      { metric: `${r.nodes} nodes: calls per router+NATS CPU-s`, unit: 'rate', value: num(r, 'callsPerCpuSecond'), reference: num(one, 'callsPerCpuSecond'), versus },
      { metric: `${r.nodes} nodes: p99 ms`, unit: 'ms', value: num(r, 'p99Ms'), reference: num(one, 'p99Ms'), versus },
      { metric: `${r.nodes} nodes: nats-server % of router+NATS CPU`, unit: 'count', value: round(100 * (num(r, 'natsCpuSeconds') ?? NaN) / (num(r, 'routerCpuSeconds') ?? NaN), 1) },
    );
    report.checks!.push(check(`K3 ${r.nodes} nodes: calls per CPU-s >= 0.5x single node`, ratio(num(r, 'callsPerCpuSecond'), num(one, 'callsPerCpuSecond')), (v) => v >= 0.5, formatRatio, 'missing run'));
  }
  if (!ctx.options.pin) report.notes.push(`${cpus().length} CPUs: routers, nats-server and load generators share them, so more nodes cannot add throughput here; the figure is efficiency (calls per CPU-second)`);
  return report;
}

// ------------------------------------------------------------ K4: fan-out over nodes

/**
 * `--subscribers` subscribers split evenly over `subscriberUrls`, one publisher at `--rate` events/s
 * on `publisherUrl`; a measured window, then a drain: delivered, lost, duplicated, latency.
 */
export async function fanoutOver(ctx: Context, c: Cluster, subscriberUrls: string[], publisherUrl: string): Promise<Figures> {
  const { fanoutSubscribers: total, fanoutRate } = ctx.options;
  const n = subscriberUrls.length;
  const specs: WorkerSpec[] = subscriberUrls.map((url, i) => ({
    role: 'subscribers', url, realm: REALM, format: 'json', latency: true, concurrency: 32,
    count: Math.floor(total / n) + (i < total % n ? 1 : 0),
  }));
  const subs = await workers(c, 'fanout-subscribers', specs);
  // Subscriptions on other nodes than the publisher's must have reached NATS.
  if (subscriberUrls.some((url) => url !== publisherUrl)) await sleep(PROPAGATION_MS);
  const [pub] = await workers(c, 'fanout-publisher', [{ role: 'publisher', url: publisherUrl, realm: REALM, format: 'json', rate: fanoutRate }]);
  await goAll([pub!]);
  await sleep(warmupMs(ctx));
  const nats0 = cpuOf(c.nats?.pid);
  const w = await measure(c.workers, c.pids, ctx.options.seconds);
  const natsCpu = c.nats ? cpuOf(c.nats.pid) - nats0 : 0;
  const { figures, all } = await fanoutOutcome(w, pub!, subs, total);
  return {
    ...figures,
    gaps: all.gaps ?? 0,
    reordered: all.reordered ?? 0,
    natsCpuSeconds: round(natsCpu, 3),
    ...windowFigures(w, w.counters.events ?? 0),
  };
}

/** One publisher on A at a fixed rate; the subscribers split evenly over 1, 2, 3 nodes. */
async function k4(ctx: Context): Promise<ScenarioReport> {
  const { fanoutSubscribers: total, fanoutRate } = ctx.options;
  const report = newReport('K4 fan-out', `1 publisher on A at ${fanoutRate} events/s, ${total} subscribers split evenly over 1 (no cluster), 2 and 3 nodes; latency publisher send -> subscriber receive`);
  const runs: Figures[] = [];
  for (const n of [1, 2, 3]) {
    log(`  K4 ${n} node(s)`);
    runs.push(await withCluster(ctx, `k4-${n}`, n, n > 1, async (c) => ({
      nodes: n, ...await fanoutOver(ctx, c, c.nodes.map((node) => node.url), c.nodes[0]!.url),
    })));
  }
  report.switchyard = prefixed(Object.fromEntries(runs.map((r) => [`nodes${r.nodes}`, r])));
  const [one] = runs;
  for (const r of runs) {
    const nodes = num(r, 'nodes') ?? 0;
    const versus = nodes === 1 ? undefined : '1 node';
    const ref = (key: string) => (nodes === 1 ? undefined : num(one, key));
    report.compared!.push(
      { metric: `${r.nodes} node(s): events delivered/s`, unit: 'rate', value: num(r, 'eventsPerSecond'), reference: ref('eventsPerSecond'), versus },
      { metric: `${r.nodes} node(s): p99 ms`, unit: 'ms', value: num(r, 'p99Ms'), reference: ref('p99Ms'), versus },
      { metric: `${r.nodes} node(s): lost / duplicated`, unit: 'count', value: num(r, 'lostEvents') },
      { metric: `${r.nodes} node(s): router+NATS CPU s/1k events`, unit: 'cpu', value: num(r, 'routerCpuSecondsPer1k'), reference: ref('routerCpuSecondsPer1k'), versus },
    );
    if (nodes > 1) {
      report.checks!.push(check(`K4 ${r.nodes} nodes: 0 events lost`, num(r, 'lostEvents'), (v) => v === 0, (v) => formatNumber(v), 'missing run'));
      report.checks!.push(check(`K4 ${r.nodes} nodes: 0 duplicates`, num(r, 'duplicates'), (v) => v === 0, (v) => formatNumber(v), 'missing run'));
    }
  }
  return report;
}

// ------------------------------------------------------------ K6: registration churn

const CHURN_SESSIONS = 8;
/** Bound on REGISTER+UNREGISTER cycles per run, whatever the window. */
const CHURN_MAX_CYCLES = 200_000;

/** One node, CHURN_SESSIONS sessions each looping REGISTER → UNREGISTER, without vs with cluster. */
async function k6(ctx: Context): Promise<ScenarioReport> {
  const report = newReport('K6 registration churn', `1 node; ${CHURN_SESSIONS} sessions each looping REGISTER -> UNREGISTER of its own procedure (one request in flight per session); without vs with "cluster"`);
  const runs: Figures[] = [];
  for (const clustered of [false, true]) {
    log(`  K6 ${clustered ? 'with' : 'without'} cluster`);
    runs.push(await withCluster(ctx, `k6-${clustered ? 'cluster' : 'plain'}`, 1, clustered, async (c) => {
      const driving = await workers(c, 'k6-churn', [{ role: 'churn', url: c.nodes[0]!.url, realm: REALM, format: 'json', count: CHURN_SESSIONS, maxOps: CHURN_MAX_CYCLES }]);
      const r = await loadWindow(ctx, c, driving);
      const cycles = r.w.counters.cycles ?? 0;
      return {
        clustered,
        cyclesPerSecond: round(rate(cycles, r.w.seconds), 0),
        p50Ms: round(r.w.hist.percentile(50), 3),
        p99Ms: round(r.w.hist.percentile(99), 3),
        failed: r.w.counters.failed ?? 0,
        natsCpuSeconds: round(r.natsCpu, 3),
        ...windowFigures(r.w, cycles),
      };
    }));
  }
  const [plain, clustered] = runs as [Figures, Figures];
  report.switchyard = prefixed({ plain, cluster: clustered });
  const versus = 'without cluster';
  report.compared!.push(
    { metric: 'REGISTER+UNREGISTER pairs/s', unit: 'rate', value: num(clustered, 'cyclesPerSecond'), reference: num(plain, 'cyclesPerSecond'), versus },
    { metric: 'p50 ms per pair', unit: 'ms', value: num(clustered, 'p50Ms'), reference: num(plain, 'p50Ms'), versus },
    { metric: 'p99 ms per pair', unit: 'ms', value: num(clustered, 'p99Ms'), reference: num(plain, 'p99Ms'), versus },
    { metric: 'failed pairs', unit: 'count', value: num(clustered, 'failed'), reference: num(plain, 'failed'), versus },
  );
  return report;
}

// ------------------------------------------------------------ K7: failover

interface TimelineJson {
  ok: [number, number][];
  failed: [number, number][];
}

/** 10 ms buckets summed over workers. */
function mergeTimelines(list: (TimelineJson | undefined)[]): { ok: Map<number, number>; failed: Map<number, number> } {
  const ok = new Map<number, number>();
  const failed = new Map<number, number>();
  for (const t of list) {
    for (const [b, v] of t?.ok ?? []) ok.set(b, (ok.get(b) ?? 0) + v);
    for (const [b, v] of t?.failed ?? []) failed.set(b, (failed.get(b) ?? 0) + v);
  }
  return { ok, failed };
}

/** A silence shorter than this after the kill is ordinary jitter, not an outage. */
const OUTAGE_MIN_MS = 100;

export interface Failover {
  /** ms from SIGKILL to the first result after the longest silence (0: no silence of OUTAGE_MIN_MS) */
  recoveryMs: number;
  /** longest time without any result after the kill, ms */
  longestGapMs: number;
  /** ms from SIGKILL to the first error */
  firstErrorMs?: number;
  /** ms from SIGKILL to the last error */
  lastErrorMs?: number;
  /** results in the second before the kill */
  ratePerSecondBefore: number;
}

/**
 * From the callers' 10 ms timeline (`ok`, `failed`: results and errors per bucket of epoch ms / 10):
 * with calls spread round-robin over B and C, every call slot soon hangs on dead B, so results stop
 * altogether until B's death is detected. The outage is the longest silence after the kill; calls
 * succeed again with the first result after it.
 */
export function failoverFrom(ok: Map<number, number>, failed: Map<number, number>, killedAt: number, until: number): Failover {
  const kill = Math.floor(killedAt / 10);
  const end = Math.floor(until / 10);
  let before = 0;
  for (let b = kill - 100; b < kill; b++) before += ok.get(b) ?? 0;
  let gap = 0;
  let gapEnd = kill;
  let last = kill;
  for (let b = kill; b <= end; b++) {
    if ((ok.get(b) ?? 0) === 0) continue;
    if (b - last > gap) {
      gap = b - last;
      gapEnd = b;
    }
    last = b;
  }
  const unrecovered = end - last > gap;
  const errorBuckets = [...failed.keys()].filter((b) => b >= kill).sort((x, y) => x - y);
  return {
    recoveryMs: unrecovered ? NaN : gap * 10 >= OUTAGE_MIN_MS ? (gapEnd - kill) * 10 : 0,
    longestGapMs: Math.max(gap, end - last) * 10,
    firstErrorMs: errorBuckets.length > 0 ? (errorBuckets[0]! - kill) * 10 : undefined,
    lastErrorMs: errorBuckets.length > 0 ? (errorBuckets.at(-1)! - kill) * 10 : undefined,
    ratePerSecondBefore: before,
  };
}

const K7_CALLERS = 2;
const K7_WINDOW = 10;

/**
 * Three nodes: callees of one shared (`roundrobin`) procedure on B and C, callers on A. Under
 * load, B is SIGKILLed; the callers keep calling until B's death is detected (deadAfterMs) plus
 * 3 s, bounded. Run with the default times and with the tests' short ones.
 */
async function k7(ctx: Context): Promise<ScenarioReport> {
  const report = newReport('K7 failover', `3 nodes; callees (invoke roundrobin) on B and C, ${K7_CALLERS} callers x ${K7_WINDOW} in flight on A; SIGKILL B under load`);
  const parts: Record<string, Figures> = {};
  for (const [label, timing] of [['default', DEFAULT_TIMING], ['fast', FAST_TIMING]] as const) {
    log(`  K7 heartbeat ${timing.heartbeatMs} ms, dead after ${timing.deadAfterMs} ms`);
    parts[label] = await withCluster(ctx, `k7-${label}`, 3, true, async (c) => {
      const [a, b, cc] = c.nodes.map((n) => n.url) as [string, string, string];
      await workers(c, 'k7-callees', [callee(b, PROCEDURE, 'roundrobin'), callee(cc, PROCEDURE, 'roundrobin')]);
      await sleep(PROPAGATION_MS);
      const driving = await workers(c, 'k7-callers', [callers(a, K7_CALLERS, K7_WINDOW, [PROCEDURE], true)]);
      await goAll(driving);
      await sleep(warmupMs(ctx));
      const killedAt = Date.now();
      await c.nodes[1]!.child.kill();
      await sleep(timing.deadAfterMs + 3000);
      const until = Date.now();
      const [final] = await haltAll(driving);
      const info = final!.info as { errorUris?: Record<string, number>; timeline?: TimelineJson };
      const { ok, failed } = mergeTimelines([info.timeline]);
      const f = failoverFrom(ok, failed, killedAt, until);
      const counters = final!.counters;
      return {
        ...timing,
        recoveryMs: f.recoveryMs,
        longestGapMs: f.longestGapMs,
        firstErrorMs: f.firstErrorMs,
        lastErrorMs: f.lastErrorMs,
        callsPerSecondBefore: f.ratePerSecondBefore,
        failedCalls: counters.errors ?? 0,
        unanswered: Math.max(0, (counters.sent ?? 0) - (counters.calls ?? 0) - (counters.errors ?? 0)),
        errorUris: JSON.stringify(info.errorUris ?? {}),
      };
    }, timing);
  }
  report.switchyard = prefixed(parts);
  for (const [label, f] of Object.entries(parts)) {
    const times = `heartbeat ${f.heartbeatMs} / dead after ${f.deadAfterMs} ms`;
    report.compared!.push(
      { metric: `${label} (${times}): time until calls succeed again`, unit: 'ms', value: num(f, 'recoveryMs') },
      { metric: `${label}: longest gap between results`, unit: 'ms', value: num(f, 'longestGapMs') },
      { metric: `${label}: failed calls`, unit: 'count', value: num(f, 'failedCalls') },
      { metric: `${label}: calls never answered`, unit: 'count', value: num(f, 'unanswered') },
    );
    report.notes.push(`${label}: errors ${String(f.errorUris)}, first/last error ${formatNumber(num(f, 'firstErrorMs'))}/${formatNumber(num(f, 'lastErrorMs'))} ms after the SIGKILL; ${formatNumber(num(f, 'callsPerSecondBefore'))} calls/s before it`);
    report.checks!.push(check(`K7 ${label}: calls succeed again within dead-after + 1 s`, num(f, 'recoveryMs'), (v) => v <= (num(f, 'deadAfterMs') ?? 0) + 1000, (v) => `${formatNumber(v)} ms`, 'no recovery seen'));
  }
  return report;
}

// ------------------------------------------------------------ registry

const CLUSTER_RUNS: Record<ClusterScenarioName, (ctx: Context) => Promise<ScenarioReport>> = { k1, k2, k3, k4, k6, k7 };

export async function runClusterScenario(ctx: Context, name: ClusterScenarioName): Promise<ScenarioReport[]> {
  const missing = natsServerMissing();
  if (missing !== undefined) throw new Error(`cluster scenario ${name} needs nats-server: ${missing}`);
  const since = Date.now();
  const report = await CLUSTER_RUNS[name](ctx);
  report.profiles = newProfiles(since);
  const [one] = loadavg();
  report.notes.push(`load average at end ${one!.toFixed(2)}`);
  return [report];
}
