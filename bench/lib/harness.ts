import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, spawnChild } from './ipc.js';
import { machineBusySeconds, openFileLimitOf, sampleProcess, type OpenFileLimits } from './proc.js';
import { deltaCounters, LogHistogram, sumCounters, type Counters, type HistogramJson } from './stats.js';
import type { WireFormat } from './wire.js';

/** Starting the bench's children and measuring a window of load from the outside. */

/** The package root (this file runs as dist/bench/lib/harness.js). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DIST_BENCH = join(ROOT, 'dist', 'bench');
export const PEERS_DIR = join(ROOT, 'bench', '.peers');
export const PROFILE_DIR = join(ROOT, 'bench', '.profiles');

export type TargetKind = 'switchyard' | 'fox-wamp' | 'relay' | 'relay-corked' | 'minimal-dealer';

export interface Target {
  kind: TargetKind;
  child: Child;
  url: string;
  /** Where salted WAMP-CRA users log in (fox-wamp: a second listener). */
  craUrl: string;
  pid: number;
  formats: WireFormat[];
  version?: string;
  fdLimit?: OpenFileLimits;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export interface StartTargetOptions {
  /** Extra node flags for the Switchyard router or minimal dealer child (e.g. --cpu-prof). */
  routerNodeArgs?: string[];
  /** Passed to the child's `start` (router-child: `{ cluster }` for a cluster node). */
  start?: unknown;
  /** Pin the target to these CPUs (taskset). */
  cpus?: string;
}

export async function startTarget(kind: TargetKind, options: StartTargetOptions = {}): Promise<Target> {
  let child: Child;
  if (kind === 'switchyard') {
    child = spawnChild(kind, join(DIST_BENCH, 'router-child.js'), { nodeArgs: ['--expose-gc', ...(options.routerNodeArgs ?? [])], raiseFdLimit: true, cpus: options.cpus });
  } else if (kind === 'fox-wamp') {
    child = spawnChild(kind, join(DIST_BENCH, 'fox-child.js'), { nodeArgs: ['--expose-gc'], args: [PEERS_DIR], raiseFdLimit: true });
  } else if (kind === 'minimal-dealer') {
    child = spawnChild(kind, join(DIST_BENCH, 'minimal-dealer-child.js'), { nodeArgs: ['--expose-gc', ...(options.routerNodeArgs ?? [])], raiseFdLimit: true });
  } else {
    child = spawnChild(kind, join(DIST_BENCH, 'relay-child.js'), { nodeArgs: ['--expose-gc'], args: kind === 'relay-corked' ? ['--cork'] : [], raiseFdLimit: true });
  }
  try {
    const info = await child.request<{ url: string; craUrl?: string; version?: string; fdLimit?: OpenFileLimits }>('start', options.start, 30_000);
    return {
      kind, child, url: info.url, craUrl: info.craUrl ?? info.url, pid: child.pid,
      formats: kind === 'fox-wamp' ? ['json'] : ['json', 'msgpack'], version: info.version,
      fdLimit: openFileLimitOf(child.pid) ?? info.fdLimit,
    };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

export interface WorkerSpec {
  role: string;
  url: string;
  realm: string;
  format: WireFormat;
  [key: string]: unknown;
}

/** Start client-group workers (pinned to `cpus` if given) and wait until each is set up. */
export async function startWorkers(name: string, specs: WorkerSpec[], timeoutMs = 120_000, cpus?: string): Promise<Child[]> {
  const children = specs.map((_, i) => spawnChild(`${name}#${i}`, join(DIST_BENCH, 'worker.js'), { raiseFdLimit: true, cpus }));
  try {
    await Promise.all(children.map((child, i) => child.request('init', specs[i], timeoutMs)));
    return children;
  } catch (error) {
    await Promise.all(children.map((c) => c.kill()));
    throw error;
  }
}

export async function stopAll(children: Iterable<Child | undefined>): Promise<void> {
  await Promise.all([...children].filter((c): c is Child => c !== undefined).map((c) => c.stop()));
}

interface Snap {
  at: number;
  counters: Counters;
  hist?: HistogramJson;
}

export interface Window {
  seconds: number;
  counters: Counters;
  hist: LogHistogram;
  /** CPU seconds the target process(es) used inside the window (routers, and NATS if given) */
  routerCpu: number;
  routerRssBytes: number;
  /** CPU seconds all client workers used inside the window */
  clientCpu: number;
  /** CPU seconds used by the whole machine (every process, kernel included) inside the window */
  machineCpu: number;
  /** true if stopWhen ended the window early */
  stoppedEarly: boolean;
}

async function snapAll(workers: Child[], resetHist: boolean): Promise<Snap[]> {
  return Promise.all(workers.map((w) => w.request<Snap>('snap', { resetHist }, 10_000)));
}

function cpuOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) total += sampleProcess(pid)?.cpuSeconds ?? 0;
  return total;
}

/**
 * One measured window: snapshot every worker's counters and the targets' /proc CPU time (one
 * router, or a cluster's routers plus its nats-server, summed), wait
 * `seconds` (or until `stopWhen` holds on the running totals, polled every 250 ms), snapshot
 * again. Counters are summed over workers; latency histograms cover the window only.
 */
export async function measure(
  workers: Child[], targetPid: number | number[], seconds: number, stopWhen?: (totals: Counters) => boolean,
): Promise<Window> {
  const targets = typeof targetPid === 'number' ? [targetPid] : targetPid;
  const sampleTargets = () => {
    const samples = targets.map((pid) => sampleProcess(pid));
    return samples.every((s) => s !== undefined)
      ? { cpuSeconds: samples.reduce((sum, s) => sum + s.cpuSeconds, 0), rssBytes: samples.reduce((sum, s) => sum + s.rssBytes, 0) }
      : undefined;
  };
  const cpu0 = sampleTargets()?.cpuSeconds ?? NaN;
  const client0 = cpuOf(workers.map((w) => w.pid));
  const machine0 = machineBusySeconds() ?? NaN;
  const t0 = performance.now();
  const before = await snapAll(workers, true);
  const end = t0 + seconds * 1000;
  let stoppedEarly = false;
  while (performance.now() < end) {
    await sleep(Math.min(250, Math.max(0, end - performance.now())));
    if (stopWhen && performance.now() < end) {
      const now = await snapAll(workers, false);
      if (stopWhen(sumCounters(now.map((s) => s.counters)))) {
        stoppedEarly = true;
        break;
      }
    }
  }
  const cpu1 = sampleTargets();
  const client1 = cpuOf(workers.map((w) => w.pid));
  const machine1 = machineBusySeconds() ?? NaN;
  const t1 = performance.now();
  const after = await snapAll(workers, false);
  const hist = new LogHistogram();
  for (const snap of after) if (snap.hist) hist.merge(snap.hist);
  return {
    seconds: (t1 - t0) / 1000,
    counters: sumCounters(after.map((a, i) => deltaCounters(before[i]!.counters, a.counters))),
    hist,
    routerCpu: (cpu1?.cpuSeconds ?? NaN) - cpu0,
    routerRssBytes: cpu1?.rssBytes ?? NaN,
    clientCpu: client1 - client0,
    machineCpu: machine1 - machine0,
    stoppedEarly,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function goAll(workers: Child[]): Promise<void> {
  await Promise.all(workers.map((w) => w.request('go')));
}

export async function haltAll(workers: Child[]): Promise<{ counters: Counters; info?: Record<string, unknown> }[]> {
  return Promise.all(workers.map((w) => w.request<{ counters: Counters; info?: Record<string, unknown> }>('halt', undefined, 20_000)));
}

export async function totals(workers: Child[]): Promise<Counters> {
  return sumCounters((await snapAll(workers, false)).map((s) => s.counters));
}

/**
 * fox-wamp, installed on demand into bench/.peers (never into the project's package.json);
 * undefined when it is there, else the reason it cannot be used.
 */
export async function ensureFox(): Promise<string | undefined> {
  if (existsSync(join(PEERS_DIR, 'node_modules', 'fox-wamp', 'package.json'))) return undefined;
  mkdirSync(PEERS_DIR, { recursive: true });
  const manifest = join(PEERS_DIR, 'package.json');
  if (!existsSync(manifest)) writeFileSync(manifest, JSON.stringify({ private: true, description: 'bench peers, installed on demand by npm run bench' }, null, 2) + '\n');
  log('installing fox-wamp into bench/.peers (npm install --prefix bench/.peers fox-wamp) ...');
  const error = await new Promise<Error | undefined>((resolve) => {
    execFile('npm', ['install', '--prefix', PEERS_DIR, 'fox-wamp', '--no-audit', '--no-fund', '--loglevel=error'], { timeout: 240_000, cwd: ROOT }, (err) => resolve(err ?? undefined));
  });
  if (error) return `npm install fox-wamp failed: ${error.message.split('\n')[0]}`;
  if (!existsSync(join(PEERS_DIR, 'node_modules', 'fox-wamp', 'package.json'))) return 'fox-wamp not found after npm install';
  return undefined;
}
