import { loadavg } from 'node:os';
import { PROCEDURE } from './lib/constants.js';
import { log, stopAll } from './lib/harness.js';
import { callee, callers, callFigures, fanoutOver, loadWindow, newReport, workers, type Cluster } from './cluster.js';
import { num, type Context, type Figures, type ScenarioReport } from './scenarios.js';

/**
 * The load generator against routers the bench did not start (`--caller-urls`, `--callee-urls`,
 * `--subscriber-urls`, `--publisher-url`): nodes on other hosts, or pinned by hand. Each role
 * connects to the URLs it is given; CPU is counted only for the local processes named by
 * `--pids` (routers, nats-server), else calls per CPU-second is not reported.
 */

/** rpc: a callee (invoke roundrobin) on every callee URL, `--callers` sessions on every caller URL. */
async function rpcAt(ctx: Context, c: Cluster, callerUrls: string[], calleeUrls: string[]): Promise<Figures> {
  await workers(c, 'external-callees', calleeUrls.map((url) => callee(url, PROCEDURE, 'roundrobin')));
  const driving = await workers(c, 'external-callers', callerUrls.map((url) => callers(url, ctx.options.callers, ctx.options.window, [PROCEDURE])));
  return callFigures(await loadWindow(ctx, c, driving));
}

type Compared = NonNullable<ScenarioReport['compared']>[number];

/** One external scenario: its load against the given URLs, reported with the figures named. */
async function measured(name: string, setup: string, pids: number[], run: (c: Cluster) => Promise<Figures>, shown: [string, Compared['unit'], string][]): Promise<ScenarioReport> {
  const report = newReport(name, setup);
  const c: Cluster = { nodes: [], workers: [], pids };
  try {
    const f = await run(c);
    report.switchyard = f;
    report.compared!.push(...shown.map(([metric, unit, key]) => ({ metric, unit, value: num(f, key) })));
  } finally {
    await stopAll(c.workers);
  }
  return report;
}

export async function runExternal(ctx: Context): Promise<ScenarioReport[]> {
  const ext = ctx.options.external!;
  const reports: ScenarioReport[] = [];
  const cpu = ext.pids.length > 0 ? `CPU of pids ${ext.pids.join(', ')}` : 'no CPU figures (no --pids)';
  if (ext.callerUrls.length > 0 && ext.calleeUrls.length > 0) {
    log(`  rpc: callers at ${ext.callerUrls.join(' ')}, callees at ${ext.calleeUrls.join(' ')}`);
    reports.push(await measured('external rpc',
      `${ctx.options.callers} callers x ${ctx.options.window} in flight per caller URL (${ext.callerUrls.length}), a roundrobin callee per callee URL (${ext.calleeUrls.length}); ${cpu}`,
      ext.pids, (c) => rpcAt(ctx, c, ext.callerUrls, ext.calleeUrls), [
        ['calls/s', 'rate', 'callsPerSecond'], ['p50 ms', 'ms', 'p50Ms'], ['p99 ms', 'ms', 'p99Ms'],
        ['errors', 'count', 'errors'], ['calls per CPU-s of --pids', 'rate', 'callsPerCpuSecond'],
      ]));
  }
  if (ext.subscriberUrls.length > 0 && ext.publisherUrl !== undefined) {
    const publisherUrl = ext.publisherUrl;
    log(`  fan-out: subscribers at ${ext.subscriberUrls.join(' ')}, publisher at ${publisherUrl}`);
    reports.push(await measured('external fan-out',
      `${ctx.options.fanoutSubscribers} subscribers split over ${ext.subscriberUrls.length} URL(s), 1 publisher at ${ctx.options.fanoutRate} events/s; ${cpu}`,
      ext.pids, (c) => fanoutOver(ctx, c, ext.subscriberUrls, publisherUrl), [
        ['events delivered/s', 'rate', 'eventsPerSecond'], ['p50 ms', 'ms', 'p50Ms'], ['p99 ms', 'ms', 'p99Ms'],
        ['lost', 'count', 'lostEvents'], ['duplicated', 'count', 'duplicates'],
      ]));
  }
  for (const report of reports) report.notes.push(`load average at end ${loadavg()[0]!.toFixed(2)}`);
  return reports;
}
