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

export async function runExternal(ctx: Context): Promise<ScenarioReport[]> {
  const ext = ctx.options.external!;
  const reports: ScenarioReport[] = [];
  const cpu = ext.pids.length > 0 ? `CPU of pids ${ext.pids.join(', ')}` : 'no CPU figures (no --pids)';
  if (ext.callerUrls.length > 0 && ext.calleeUrls.length > 0) {
    log(`  rpc: callers at ${ext.callerUrls.join(' ')}, callees at ${ext.calleeUrls.join(' ')}`);
    const report = newReport('external rpc', `${ctx.options.callers} callers x ${ctx.options.window} in flight per caller URL (${ext.callerUrls.length}), a roundrobin callee per callee URL (${ext.calleeUrls.length}); ${cpu}`);
    const c: Cluster = { nodes: [], workers: [], pids: ext.pids };
    try {
      const f = await rpcAt(ctx, c, ext.callerUrls, ext.calleeUrls);
      report.switchyard = f;
      report.compared!.push(
        { metric: 'calls/s', unit: 'rate', value: num(f, 'callsPerSecond') },
        { metric: 'p50 ms', unit: 'ms', value: num(f, 'p50Ms') },
        { metric: 'p99 ms', unit: 'ms', value: num(f, 'p99Ms') },
        { metric: 'errors', unit: 'count', value: num(f, 'errors') },
        { metric: 'calls per CPU-s of --pids', unit: 'rate', value: num(f, 'callsPerCpuSecond') },
      );
    } finally {
      await stopAll(c.workers);
    }
    reports.push(report);
  }
  if (ext.subscriberUrls.length > 0 && ext.publisherUrl !== undefined) {
    log(`  fan-out: subscribers at ${ext.subscriberUrls.join(' ')}, publisher at ${ext.publisherUrl}`);
    const report = newReport('external fan-out', `${ctx.options.fanoutSubscribers} subscribers split over ${ext.subscriberUrls.length} URL(s), 1 publisher at ${ctx.options.fanoutRate} events/s; ${cpu}`);
    const c: Cluster = { nodes: [], workers: [], pids: ext.pids };
    try {
      const f = await fanoutOver(ctx, c, ext.subscriberUrls, ext.publisherUrl);
      report.switchyard = f;
      report.compared!.push(
        { metric: 'events delivered/s', unit: 'rate', value: num(f, 'eventsPerSecond') },
        { metric: 'p50 ms', unit: 'ms', value: num(f, 'p50Ms') },
        { metric: 'p99 ms', unit: 'ms', value: num(f, 'p99Ms') },
        { metric: 'lost', unit: 'count', value: num(f, 'lostEvents') },
        { metric: 'duplicated', unit: 'count', value: num(f, 'duplicates') },
      );
    } finally {
      await stopAll(c.workers);
    }
    reports.push(report);
  }
  for (const report of reports) report.notes.push(`load average at end ${loadavg()[0]!.toFixed(2)}`);
  return reports;
}
