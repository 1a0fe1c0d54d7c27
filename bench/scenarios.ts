import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deriveKey } from '../auth/crypto.js';
import type { BenchOptions, SingleScenarioName } from './lib/args.js';
import { CRA_USER, REALM } from './lib/constants.js';
import {
  goAll, haltAll, log, measure, PROFILE_DIR, sleep, startTarget, startWorkers, stopAll, totals, type Target,
  type TargetKind, type Window, type WorkerSpec,
} from './lib/harness.js';
import type { Child } from './lib/ipc.js';
import type { TargetCheck } from './lib/report.js';
import { ephemeralPortCount, sampleProcess } from './lib/proc.js';
import { rate, ratio, type Counters } from './lib/stats.js';
import { formatNumber, formatRatio } from './lib/table.js';
import type { WireFormat } from './lib/wire.js';
import { hostile } from './hostile.js';

/**
 * The scenarios. Each runs its relay baseline first, then Switchyard, then fox-wamp (when
 * available and able), each in a fresh target process with fresh client workers, and returns
 * one report: the raw figures of every run plus the metrics shown in the table.
 */

export type Figures = Record<string, number | string | boolean | undefined>;

export interface Metric {
  name: string;
  /** rate: higher is better and has a baseline ratio; others are shown without one unless `baseline` is set */
  kind: 'rate' | 'latency' | 'count' | 'bytes' | 'cpu' | 'percent';
  switchyard?: number;
  fox?: number;
  /** uncorked relay figure of the same kind, measured just before */
  baseline?: number;
  baselineCorked?: number;
}

/**
 * A figure of a cluster scenario (bench/cluster.ts): its value and, where the scenario compares
 * two set-ups of the same run, the reference it is compared with (ratio = value / reference).
 */
export interface ComparedFigure {
  metric: string;
  unit: 'rate' | 'ms' | 's' | 'count' | 'cpu';
  value?: number;
  reference?: number;
  /** what the reference is, e.g. "without cluster" */
  versus?: string;
}

export interface ScenarioReport {
  scenario: string;
  /** one line of what was run */
  setup: string;
  baseline: Record<string, Figures>;
  switchyard?: Figures;
  fox?: Figures;
  foxSkipped?: string;
  metrics: Metric[];
  notes: string[];
  profiles: string[];
  /** cluster scenarios: their figures (their `metrics` stay empty) and their targets */
  compared?: ComparedFigure[];
  checks?: TargetCheck[];
  /** rpc with --repeat: every round's baselines and Switchyard figures. */
  rounds?: { baseline: Record<string, Figures>; switchyard: Figures }[];
}

export interface Context {
  options: BenchOptions;
  /** undefined when fox-wamp can be used, else why not */
  foxUnavailable: string | undefined;
  stamp: string;
}

const CRA_KEY = deriveKey(CRA_USER.secret, CRA_USER.salt, CRA_USER.iterations, CRA_USER.keylen);

export function routerNodeArgs(ctx: Context, label: string): string[] {
  const args = profileArgs(ctx, 'switchyard', label);
  const extra = process.env.BENCH_ROUTER_NODE_ARGS?.trim();
  if (extra) args.push(...extra.split(/\s+/));
  return args;
}

/** With `--profile`: the node flags that write `<target>-<label>-<stamp>.cpuprofile` to the profile directory. */
function profileArgs(ctx: Context, target: TargetKind, label: string): string[] {
  if (!ctx.options.profile) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${target}-${label}-${ctx.stamp}.cpuprofile`];
}

/** A numeric figure, or undefined when the run did not produce it. */
export function num(f: Figures | undefined, k: string): number | undefined {
  return typeof f?.[k] === 'number' ? (f[k] as number) : undefined;
}

/**
 * Run one scenario against Switchyard (collecting its profiles, if any) and then against
 * fox-wamp, unless fox-wamp is unavailable or cannot do this scenario (`foxSkip`).
 */
async function againstBoth(ctx: Context, report: ScenarioReport, label: string, once: (kind: TargetKind) => Promise<Figures>, foxSkip?: string): Promise<void> {
  const since = Date.now();
  log(`  switchyard ${label}`);
  report.switchyard = await once('switchyard');
  report.profiles = newProfiles(since);
  const skip = ctx.foxUnavailable ?? foxSkip;
  if (skip) report.foxSkipped = skip;
  else {
    log(`  fox-wamp ${label}`);
    report.fox = await once('fox-wamp');
  }
}

/** Profiles written since `since` (ms epoch) in the profile directory. */
export function newProfiles(since: number): string[] {
  if (!existsSync(PROFILE_DIR)) return [];
  return readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(PROFILE_DIR, f))
    .filter((f) => statSync(f).mtimeMs >= since);
}

interface Run<T> {
  target: Target;
  workers: Child[];
  result?: T;
}

/** Start a target, run `body` with it, always stop everything. */
async function withTarget<T>(ctx: Context, kind: TargetKind, label: string, body: (target: Target, run: Run<T>) => Promise<T>): Promise<T> {
  // The minimal dealer is profiled too, to compare where its time goes with Switchyard's.
  const nodeArgs = kind === 'switchyard' ? routerNodeArgs(ctx, label) : kind === 'minimal-dealer' ? profileArgs(ctx, kind, label) : [];
  const target = await startTarget(kind, { routerNodeArgs: nodeArgs });
  const run: Run<T> = { target, workers: [] };
  try {
    return await body(target, run);
  } finally {
    // Target first: its side closes the sockets, so TIME_WAIT lands on its (per-run) port
    // instead of on thousands of client ephemeral ports the next scenario needs.
    await target.child.stop(nodeArgs.length > 0 ? 20_000 : 3000);
    await stopAll(run.workers);
  }
}

function pct(cpuSeconds: number, seconds: number): number {
  return seconds > 0 ? (100 * cpuSeconds) / seconds : NaN;
}

function per1k(cpuSeconds: number, ops: number): number {
  return ops > 0 ? (cpuSeconds / ops) * 1000 : NaN;
}

export function windowFigures(w: Window, ops: number): Figures {
  return {
    seconds: round(w.seconds, 3),
    routerCpuSeconds: round(w.routerCpu, 3),
    routerCpuPercent: round(pct(w.routerCpu, w.seconds), 1),
    routerCpuSecondsPer1k: round(per1k(w.routerCpu, ops), 5),
    clientCpuPercent: round(pct(w.clientCpu, w.seconds), 1),
    // Everything else on the machine (other sessions' builds, kernel softirq, the bench parent):
    // high values mean the figures were taken on a busy machine.
    machineCpuPercent: round(pct(w.machineCpu, w.seconds), 1),
    otherCpuPercent: round(pct(w.machineCpu - w.routerCpu - w.clientCpu, w.seconds), 1),
    routerRssMiB: round(w.routerRssBytes / 1048576, 1),
  };
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return NaN;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ---------------------------------------------------------------- rpc

async function rpcOnce(ctx: Context, kind: TargetKind, format: WireFormat, seconds: number): Promise<Figures> {
  const { callers, window } = ctx.options;
  const relay = kind === 'relay' || kind === 'relay-corked';
  return withTarget(ctx, kind, `rpc-${format}`, async (target, run) => {
    const mode = relay ? 'relay' : 'wamp';
    const common = { url: target.url, realm: REALM, format, mode };
    run.workers.push(...await startWorkers(`${kind}-callee`, [{ role: 'responder', ...common, count: relay ? callers : 1 }]));
    run.workers.push(...await startWorkers(`${kind}-callers`, [{ role: 'callers', ...common, count: callers, window }]));
    await goAll(run.workers);
    await sleep(ctx.options.warmupSeconds * 1000);
    const w = await measure(run.workers, target.pid, seconds);
    await haltAll(run.workers);
    const calls = w.counters.calls ?? 0;
    return {
      callsPerSecond: round(rate(calls, w.seconds), 0),
      p50Ms: round(w.hist.percentile(50), 3),
      p99Ms: round(w.hist.percentile(99), 3),
      errors: w.counters.errors ?? 0,
      closed: w.counters.closed ?? 0,
      ...windowFigures(w, calls),
    };
  });
}

async function relayBaseline(ctx: Context): Promise<Record<string, Figures>> {
  log('  baseline: ws relay (uncorked, corked)');
  const seconds = ctx.options.baselineSeconds;
  return {
    relay: await rpcOnce(ctx, 'relay', 'json', seconds),
    relayCorked: await rpcOnce(ctx, 'relay-corked', 'json', seconds),
  };
}

/** The relay baselines plus the minimal WAMP dealer (bench/minimal-dealer-child.ts) in `format`. */
async function rpcBaselines(ctx: Context, format: WireFormat): Promise<Record<string, Figures>> {
  const baseline = await relayBaseline(ctx);
  log(`  baseline: minimal WAMP dealer (${format})`);
  baseline.minimalDealer = await rpcOnce(ctx, 'minimal-dealer', format, ctx.options.baselineSeconds);
  return baseline;
}

async function rpc(ctx: Context, format: WireFormat): Promise<ScenarioReport> {
  const { callers, window, seconds } = ctx.options;
  const report: ScenarioReport = {
    scenario: `rpc ${format}`,
    setup: `${callers} callers x ${window} calls in flight, 1 callee, ${format}, small payload`,
    baseline: await rpcBaselines(ctx, format), metrics: [], notes: [], profiles: [],
  };
  await againstBoth(ctx, report, `rpc ${format}`, (kind) => rpcOnce(ctx, kind, format, seconds),
    format !== 'json' ? 'fox-wamp serves wamp.2.json only' : undefined);
  if (ctx.options.repeat > 1) await repeatRounds(ctx, report, format);
  const b = report.baseline;
  report.notes.push(minimalDealerNote(b, report.switchyard));
  report.metrics = [
    { name: 'calls/s', kind: 'rate', switchyard: num(report.switchyard, 'callsPerSecond'), fox: num(report.fox, 'callsPerSecond'), baseline: num(b.relay, 'callsPerSecond'), baselineCorked: num(b.relayCorked, 'callsPerSecond') },
    { name: 'p50 ms', kind: 'latency', switchyard: num(report.switchyard, 'p50Ms'), fox: num(report.fox, 'p50Ms') },
    { name: 'p99 ms', kind: 'latency', switchyard: num(report.switchyard, 'p99Ms'), fox: num(report.fox, 'p99Ms') },
    { name: 'router CPU s/1k calls', kind: 'cpu', switchyard: num(report.switchyard, 'routerCpuSecondsPer1k'), fox: num(report.fox, 'routerCpuSecondsPer1k'), baseline: num(b.relay, 'routerCpuSecondsPer1k'), baselineCorked: num(b.relayCorked, 'routerCpuSecondsPer1k') },
    { name: 'router CPU %', kind: 'percent', switchyard: num(report.switchyard, 'routerCpuPercent'), fox: num(report.fox, 'routerCpuPercent'), baseline: num(b.relay, 'routerCpuPercent'), baselineCorked: num(b.relayCorked, 'routerCpuPercent') },
  ];
  return report;
}

/**
 * More rounds of (relay baselines, Switchyard) for `--repeat`: one window says little on a shared
 * machine. The round whose calls/s ratio to the corked relay is the median becomes the report's
 * figures (fox-wamp keeps its one run); every round's ratio is in a note.
 */
async function repeatRounds(ctx: Context, report: ScenarioReport, format: WireFormat): Promise<void> {
  const rounds = [{ baseline: report.baseline, switchyard: report.switchyard! }];
  for (let r = 1; r < ctx.options.repeat; r++) {
    log(`  round ${r + 1} of ${ctx.options.repeat}`);
    const baseline = await rpcBaselines(ctx, format);
    rounds.push({ baseline, switchyard: await rpcOnce(ctx, 'switchyard', format, ctx.options.seconds) });
  }
  const calls = (f: Figures | undefined) => num(f, 'callsPerSecond') ?? NaN;
  const listed = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
  const corkedRatio = (round: (typeof rounds)[number]) => calls(round.switchyard) / calls(round.baseline.relayCorked);
  const median = [...rounds].sort((a, b) => corkedRatio(a) - corkedRatio(b))[Math.floor(rounds.length / 2)]!;
  report.baseline = median.baseline;
  report.switchyard = median.switchyard;
  report.rounds = rounds;
  report.notes.push(`calls/s ÷ corked relay in ${rounds.length} rounds: ${listed(rounds.map(corkedRatio))} (median round reported)`);
  report.notes.push(`minimal dealer ÷ corked relay in the same rounds: ${listed(rounds.map((r) => calls(r.baseline.minimalDealer) / calls(r.baseline.relayCorked)))}; `
    + `Switchyard ÷ minimal dealer: ${listed(rounds.map((r) => calls(r.switchyard) / calls(r.baseline.minimalDealer)))}`);
}

/**
 * The minimal dealer against the corked relay (what WAMP's least work costs on this stack) and
 * Switchyard against the minimal dealer (what the rest of a production router costs), same round.
 */
export function minimalDealerNote(baseline: Record<string, Figures>, switchyard: Figures | undefined): string {
  const calls = (f: Figures | undefined) => num(f, 'callsPerSecond');
  const micros = (f: Figures | undefined) => formatNumber((num(f, 'routerCpuSecondsPer1k') ?? NaN) * 1000);
  const minimal = baseline.minimalDealer;
  return `minimal WAMP dealer (same round): ${formatNumber(calls(minimal))} calls/s = ${formatRatio(ratio(calls(minimal), calls(baseline.relayCorked)))} corked relay, `
    + `${micros(minimal)} µs router CPU per call (corked relay ${micros(baseline.relayCorked)}, Switchyard ${micros(switchyard)}); `
    + `Switchyard = ${formatRatio(ratio(calls(switchyard), calls(minimal)))} minimal dealer`;
}

// ---------------------------------------------------------------- pubsub

const PUBSUB_SUBSCRIBERS = 10;

export async function drain(workers: Child[], expected: number, key: string, maxMs: number): Promise<number> {
  let last = -1;
  let stableSince = performance.now();
  const end = performance.now() + maxMs;
  for (;;) {
    const got = (await totals(workers))[key] ?? 0;
    if (got >= expected) return got;
    if (got !== last) {
      last = got;
      stableSince = performance.now();
    }
    if (performance.now() - stableSince > 2000 || performance.now() > end) return got;
    await sleep(100);
  }
}

async function pubsubOnce(ctx: Context, kind: TargetKind): Promise<Figures> {
  return withTarget(ctx, kind, 'pubsub', async (target, run) => {
    const common = { url: target.url, realm: REALM, format: 'json' as WireFormat };
    const subs = await startWorkers(`${kind}-subscribers`, [
      { role: 'subscribers', ...common, count: PUBSUB_SUBSCRIBERS / 2 },
      { role: 'subscribers', ...common, count: PUBSUB_SUBSCRIBERS / 2 },
    ]);
    run.workers.push(...subs);
    const [pub] = await startWorkers(`${kind}-publisher`, [{ role: 'publisher', ...common, window: ctx.options.window }]);
    run.workers.push(pub!);
    await goAll([pub!]);
    await sleep(ctx.options.warmupSeconds * 1000);
    const w = await measure(run.workers, target.pid, ctx.options.seconds);
    const [pubFinal] = await haltAll([pub!]);
    const published = pubFinal!.counters.published ?? 0;
    const delivered = await drain(subs, published * PUBSUB_SUBSCRIBERS, 'events', 15_000);
    const all = await totals(subs);
    const events = w.counters.events ?? 0;
    return {
      eventsPerSecond: round(rate(events, w.seconds), 0),
      publicationsPerSecond: round(rate(w.counters.published ?? 0, w.seconds), 0),
      published,
      expectedEvents: published * PUBSUB_SUBSCRIBERS,
      deliveredEvents: delivered,
      lostEvents: Math.max(0, published * PUBSUB_SUBSCRIBERS - delivered),
      gaps: all.gaps ?? 0,
      reordered: all.reordered ?? 0,
      subscribersClosed: all.closed ?? 0,
      publishErrors: pubFinal!.counters.errors ?? 0,
      ...windowFigures(w, events),
    };
  });
}

async function pubsub(ctx: Context): Promise<ScenarioReport> {
  const report: ScenarioReport = {
    scenario: 'pubsub',
    setup: `1 publisher (${ctx.options.window} acknowledged PUBLISHes in flight), ${PUBSUB_SUBSCRIBERS} subscribers in 2 processes, json`,
    baseline: await relayBaseline(ctx), metrics: [], notes: [], profiles: [],
  };
  await againstBoth(ctx, report, 'pubsub', (kind) => pubsubOnce(ctx, kind));
  const b = report.baseline;
  report.metrics = [
    { name: 'events delivered/s', kind: 'rate', switchyard: num(report.switchyard, 'eventsPerSecond'), fox: num(report.fox, 'eventsPerSecond'), baseline: num(b.relay, 'callsPerSecond'), baselineCorked: num(b.relayCorked, 'callsPerSecond') },
    { name: 'publications/s', kind: 'rate', switchyard: num(report.switchyard, 'publicationsPerSecond'), fox: num(report.fox, 'publicationsPerSecond'), baseline: num(b.relay, 'callsPerSecond'), baselineCorked: num(b.relayCorked, 'callsPerSecond') },
    { name: 'lost events', kind: 'count', switchyard: num(report.switchyard, 'lostEvents'), fox: num(report.fox, 'lostEvents') },
    { name: 'router CPU s/1k events', kind: 'cpu', switchyard: num(report.switchyard, 'routerCpuSecondsPer1k'), fox: num(report.fox, 'routerCpuSecondsPer1k') },
    { name: 'router CPU %', kind: 'percent', switchyard: num(report.switchyard, 'routerCpuPercent'), fox: num(report.fox, 'routerCpuPercent') },
  ];
  return report;
}

// ---------------------------------------------------------------- fanout

async function fanoutOnce(ctx: Context, kind: TargetKind): Promise<Figures> {
  const { fanoutSubscribers: n, fanoutRate } = ctx.options;
  return withTarget(ctx, kind, 'fanout', async (target, run) => {
    const common = { url: target.url, realm: REALM, format: 'json' as WireFormat };
    const groups = Math.min(4, n);
    const specs: WorkerSpec[] = Array.from({ length: groups }, (_, i) => ({
      role: 'subscribers', ...common, latency: true, concurrency: 32,
      count: Math.floor(n / groups) + (i < n % groups ? 1 : 0),
    }));
    const subs = await startWorkers(`${kind}-fanout-subscribers`, specs);
    run.workers.push(...subs);
    const [pub] = await startWorkers(`${kind}-fanout-publisher`, [{ role: 'publisher', ...common, rate: fanoutRate }]);
    run.workers.push(pub!);
    await goAll([pub!]);
    await sleep(ctx.options.warmupSeconds * 1000);
    const w = await measure(run.workers, target.pid, ctx.options.seconds);
    const { figures, all } = await fanoutOutcome(w, pub!, subs, n);
    return { ...figures, subscribersClosed: all.closed ?? 0, ...windowFigures(w, w.counters.events ?? 0) };
  });
}

/**
 * After a fan-out window: stop the publisher, let every subscriber drain (up to 15 s), and count
 * what arrived against `receivers` copies of each publication. `all` is the subscribers' totals.
 */
export async function fanoutOutcome(w: Window, pub: Child, subs: Child[], receivers: number): Promise<{ figures: Figures; all: Counters }> {
  const [pubFinal] = await haltAll([pub]);
  const published = pubFinal!.counters.published ?? 0;
  const expected = published * receivers;
  const delivered = await drain(subs, expected, 'events', 15_000);
  const all = await totals(subs);
  return {
    all,
    figures: {
      subscribers: all.subscribed ?? 0,
      eventsPerSecond: round(rate(w.counters.events ?? 0, w.seconds), 0),
      publicationsPerSecond: round(rate(w.counters.published ?? 0, w.seconds), 1),
      p50Ms: round(w.hist.percentile(50), 3),
      p99Ms: round(w.hist.percentile(99), 3),
      maxMs: round(w.hist.percentile(100), 3),
      published,
      expectedEvents: expected,
      deliveredEvents: delivered,
      lostEvents: Math.max(0, expected - delivered),
      duplicates: Math.max(0, delivered - expected),
    },
  };
}

async function fanout(ctx: Context): Promise<ScenarioReport> {
  const { fanoutSubscribers: n, fanoutRate } = ctx.options;
  const report: ScenarioReport = {
    scenario: 'fanout',
    setup: `${n} subscribers in ${Math.min(4, n)} processes, 1 publisher at ${fanoutRate} events/s, latency publisher send -> subscriber receive`,
    baseline: await relayBaseline(ctx), metrics: [], notes: [], profiles: [],
  };
  await againstBoth(ctx, report, 'fanout', (kind) => fanoutOnce(ctx, kind));
  report.metrics = [
    { name: 'events delivered/s', kind: 'rate', switchyard: num(report.switchyard, 'eventsPerSecond'), fox: num(report.fox, 'eventsPerSecond') },
    { name: 'p50 ms', kind: 'latency', switchyard: num(report.switchyard, 'p50Ms'), fox: num(report.fox, 'p50Ms') },
    { name: 'p99 ms', kind: 'latency', switchyard: num(report.switchyard, 'p99Ms'), fox: num(report.fox, 'p99Ms') },
    { name: 'lost events', kind: 'count', switchyard: num(report.switchyard, 'lostEvents'), fox: num(report.fox, 'lostEvents') },
    { name: 'router CPU s/1k events', kind: 'cpu', switchyard: num(report.switchyard, 'routerCpuSecondsPer1k'), fox: num(report.fox, 'routerCpuSecondsPer1k') },
  ];
  return report;
}

// ---------------------------------------------------------------- sessions

const SESSIONS_PER_WORKER = 5000;

/** fds the router needs besides one per session (listener, stdio, IPC, epoll, libuv, ...). */
const FD_HEADROOM = 256;

async function sessionsOnce(ctx: Context, kind: TargetKind, wanted: number, notes: string[]): Promise<Figures> {
  return withTarget(ctx, kind, 'sessions', async (target, run) => {
    let count = wanted;
    const soft = target.fdLimit?.soft;
    if (soft !== undefined && Number.isFinite(soft) && soft - FD_HEADROOM < count) {
      count = Math.max(10, soft - FD_HEADROOM);
      notes.push(`${kind}: ${count} sessions instead of ${wanted}: the router process's open-file limit is ${soft} (ulimit -n; hard limit ${target.fdLimit?.hard})`);
    }
    const ports = ephemeralPortCount();
    if (ports !== undefined && ports - 2000 < count) {
      count = Math.max(10, ports - 2000);
      notes.push(`${kind}: ${count} sessions: only ${ports} ephemeral ports on 127.0.0.1`);
    }
    await target.child.request('mem', { gc: true });
    await sleep(300);
    const rss0 = sampleProcess(target.pid)?.rssBytes ?? NaN;
    const mem0 = await target.child.request<NodeJS.MemoryUsage>('mem', { gc: true });
    const groups = Math.ceil(count / SESSIONS_PER_WORKER);
    const mode = kind === 'relay' || kind === 'relay-corked' ? 'relay' : 'wamp';
    const specs: WorkerSpec[] = Array.from({ length: groups }, (_, i) => ({
      role: 'idle', url: target.url, realm: REALM, format: 'json', mode, concurrency: 48,
      pairOffset: i * SESSIONS_PER_WORKER,
      count: Math.floor(count / groups) + (i < count % groups ? 1 : 0),
    }));
    const t0 = performance.now();
    const cpu0 = sampleProcess(target.pid)?.cpuSeconds ?? NaN;
    run.workers.push(...await startWorkers(`${kind}-idle`, specs, 300_000));
    const joinSeconds = (performance.now() - t0) / 1000;
    const joinCpu = (sampleProcess(target.pid)?.cpuSeconds ?? NaN) - cpu0;
    await sleep(1000);
    const mem1 = await target.child.request<NodeJS.MemoryUsage>('mem', { gc: true });
    await sleep(300);
    const rss1 = sampleProcess(target.pid)?.rssBytes ?? NaN;
    const all = await totals(run.workers);
    const joined = all.joined ?? 0;
    return {
      requested: wanted,
      attempted: count,
      joined,
      failed: all.failed ?? 0,
      closedWhileIdle: all.closed ?? 0,
      joinSeconds: round(joinSeconds, 2),
      joinsPerSecondBulk: round(rate(joined, joinSeconds), 0),
      joinCpuSeconds: round(joinCpu, 2),
      rssBeforeMiB: round(rss0 / 1048576, 1),
      rssAfterMiB: round(rss1 / 1048576, 1),
      rssPerSessionBytes: joined > 0 ? round((rss1 - rss0) / joined, 0) : NaN,
      heapPerSessionBytes: joined > 0 ? round((mem1.heapUsed - mem0.heapUsed) / joined, 0) : NaN,
      externalPerSessionBytes: joined > 0 ? round((mem1.external + mem1.arrayBuffers - mem0.external - mem0.arrayBuffers) / joined, 0) : NaN,
    };
  });
}

async function sessions(ctx: Context): Promise<ScenarioReport> {
  const wanted = ctx.options.sessions;
  const report: ScenarioReport = {
    scenario: 'sessions',
    setup: `${wanted} idle joined sessions (anonymous, json) from ${Math.ceil(wanted / SESSIONS_PER_WORKER)} client processes; RSS after GC`,
    baseline: {}, metrics: [], notes: [], profiles: [],
  };
  log('  baseline: idle connections to the ws relay');
  report.baseline.relay = await sessionsOnce(ctx, 'relay', wanted, report.notes);
  log('  switchyard sessions');
  report.switchyard = await sessionsOnce(ctx, 'switchyard', wanted, report.notes);
  if (ctx.foxUnavailable) report.foxSkipped = ctx.foxUnavailable;
  else {
    log('  fox-wamp sessions');
    report.fox = await sessionsOnce(ctx, 'fox-wamp', wanted, report.notes);
  }
  report.metrics = [
    { name: 'sessions joined', kind: 'count', switchyard: num(report.switchyard, 'joined'), fox: num(report.fox, 'joined'), baseline: num(report.baseline.relay, 'joined') },
    { name: 'RSS bytes/session', kind: 'bytes', switchyard: num(report.switchyard, 'rssPerSessionBytes'), fox: num(report.fox, 'rssPerSessionBytes'), baseline: num(report.baseline.relay, 'rssPerSessionBytes') },
    { name: 'JS heap bytes/session', kind: 'bytes', switchyard: num(report.switchyard, 'heapPerSessionBytes'), fox: num(report.fox, 'heapPerSessionBytes'), baseline: num(report.baseline.relay, 'heapPerSessionBytes') },
    { name: 'bulk joins/s', kind: 'rate', switchyard: num(report.switchyard, 'joinsPerSecondBulk'), fox: num(report.fox, 'joinsPerSecondBulk'), baseline: num(report.baseline.relay, 'joinsPerSecondBulk') },
  ];
  return report;
}

// ---------------------------------------------------------------- handshake

const HANDSHAKE_WORKERS = 2;
const HANDSHAKE_LOOPS = 8;

async function handshakeOnce(ctx: Context, kind: TargetKind, auth: 'anonymous' | 'wampcra', seconds: number): Promise<Figures> {
  // Each join is a new TCP connection; bound them so TIME_WAIT cannot exhaust the ephemeral ports.
  const cap = Math.min(15_000, Math.max(1000, (ephemeralPortCount() ?? 28_000) / 2));
  const perWorker = Math.floor(cap / HANDSHAKE_WORKERS);
  return withTarget(ctx, kind, `handshake-${auth}`, async (target, run) => {
    const relay = kind === 'relay' || kind === 'relay-corked';
    const spec: WorkerSpec = {
      role: 'handshake', url: auth === 'wampcra' ? target.craUrl : target.url, realm: REALM, format: 'json',
      mode: relay ? 'relay' : 'wamp', concurrency: HANDSHAKE_LOOPS, maxOps: perWorker,
      auth: auth === 'wampcra' ? { authid: CRA_USER.authid, key: CRA_KEY } : undefined,
    };
    run.workers.push(...await startWorkers(`${kind}-handshake`, Array.from({ length: HANDSHAKE_WORKERS }, () => spec)));
    await goAll(run.workers);
    await sleep(ctx.options.warmupSeconds * 1000);
    const w = await measure(run.workers, target.pid, seconds, (t) => (t.joins ?? 0) + (t.failed ?? 0) >= cap * 0.95);
    const finals = await haltAll(run.workers);
    const joins = w.counters.joins ?? 0;
    const errors: Record<string, number> = {};
    for (const f of finals) for (const [k, v] of Object.entries((f.info?.errors ?? {}) as Record<string, number>)) errors[k] = (errors[k] ?? 0) + v;
    return {
      auth,
      joinsPerSecond: round(rate(joins, w.seconds), 0),
      joinsPerRouterCpuSecond: w.routerCpu > 0 ? round(joins / w.routerCpu, 0) : NaN,
      failed: w.counters.failed ?? 0,
      errors: Object.keys(errors).length > 0 ? JSON.stringify(errors) : undefined,
      stoppedAtCap: w.stoppedEarly,
      ...windowFigures(w, joins),
    };
  });
}

async function handshake(ctx: Context): Promise<ScenarioReport> {
  const seconds = ctx.options.seconds;
  const report: ScenarioReport = {
    scenario: 'handshake',
    setup: `${HANDSHAKE_WORKERS} processes x ${HANDSHAKE_LOOPS} loops: connect, HELLO, (CHALLENGE, AUTHENTICATE), WELCOME, GOODBYE, close; json; CRA key pre-derived by the client`,
    baseline: {}, metrics: [], notes: [], profiles: [],
  };
  log('  baseline: ws connect + close against the relay');
  report.baseline.relay = await handshakeOnce(ctx, 'relay', 'anonymous', ctx.options.baselineSeconds);
  const since = Date.now();
  log('  switchyard handshake anonymous');
  const syAnon = await handshakeOnce(ctx, 'switchyard', 'anonymous', seconds);
  log('  switchyard handshake wampcra (salted)');
  const syCra = await handshakeOnce(ctx, 'switchyard', 'wampcra', seconds);
  report.profiles = newProfiles(since);
  report.switchyard = prefixed({ anonymous: syAnon, wampcra: syCra });
  let foxAnon: Figures | undefined;
  let foxCra: Figures | undefined;
  if (ctx.foxUnavailable) report.foxSkipped = ctx.foxUnavailable;
  else {
    log('  fox-wamp handshake anonymous');
    foxAnon = await handshakeOnce(ctx, 'fox-wamp', 'anonymous', seconds);
    log('  fox-wamp handshake wampcra (salted)');
    foxCra = await handshakeOnce(ctx, 'fox-wamp', 'wampcra', seconds);
    report.fox = prefixed({ anonymous: foxAnon, wampcra: foxCra });
    report.notes.push('fox-wamp WAMP-CRA: bench auth handler (wampcra_extra/wampcra_auth) with the same pre-derived key and one HMAC per login');
  }
  const b = report.baseline.relay;
  report.metrics = [
    { name: 'anonymous joins/s', kind: 'rate', switchyard: num(syAnon, 'joinsPerSecond'), fox: num(foxAnon, 'joinsPerSecond'), baseline: num(b, 'joinsPerSecond') },
    { name: 'wampcra joins/s', kind: 'rate', switchyard: num(syCra, 'joinsPerSecond'), fox: num(foxCra, 'joinsPerSecond'), baseline: num(b, 'joinsPerSecond') },
    { name: 'anonymous joins/router CPU-s', kind: 'rate', switchyard: num(syAnon, 'joinsPerRouterCpuSecond'), fox: num(foxAnon, 'joinsPerRouterCpuSecond'), baseline: num(b, 'joinsPerRouterCpuSecond') },
    { name: 'wampcra joins/router CPU-s', kind: 'rate', switchyard: num(syCra, 'joinsPerRouterCpuSecond'), fox: num(foxCra, 'joinsPerRouterCpuSecond'), baseline: num(b, 'joinsPerRouterCpuSecond') },
    { name: 'router CPU s/1k wampcra joins', kind: 'cpu', switchyard: num(syCra, 'routerCpuSecondsPer1k'), fox: num(foxCra, 'routerCpuSecondsPer1k'), baseline: num(b, 'routerCpuSecondsPer1k') },
  ];
  return report;
}

function prefixed(parts: Record<string, Figures>): Figures {
  const out: Figures = {};
  for (const [prefix, figures] of Object.entries(parts)) {
    for (const [k, v] of Object.entries(figures)) out[`${prefix}.${k}`] = v;
  }
  return out;
}

// ---------------------------------------------------------------- registry

export async function runScenario(ctx: Context, name: SingleScenarioName): Promise<ScenarioReport[]> {
  switch (name) {
    case 'rpc': return [await rpc(ctx, 'json'), await rpc(ctx, 'msgpack')];
    case 'pubsub': return [await pubsub(ctx)];
    case 'fanout': return [await fanout(ctx)];
    case 'sessions': return [await sessions(ctx)];
    case 'handshake': return [await handshake(ctx)];
    case 'hostile': return [await hostile(ctx)];
  }
}
