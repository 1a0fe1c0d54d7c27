import type { ComparedFigure, Metric, ScenarioReport } from '../scenarios.js';
import { ratio } from './stats.js';
import { formatBytes, formatMarkdownTable, formatNumber, formatRatio, formatTable, MISSING, type Align } from './table.js';

/** The bench's table and target checks, built from the scenario reports. */

export const TABLE_HEADER = ['scenario', 'metric', 'switchyard', 'x relay', 'x corked', 'fox-wamp', 'fox x relay', 'sy / fox'];
export const TABLE_ALIGN: Align[] = ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'];

function formatValue(metric: Metric, value: number | undefined): string {
  if (metric.kind === 'bytes') return formatBytes(value);
  if (metric.kind === 'percent') return value === undefined || !Number.isFinite(value) ? MISSING : `${formatNumber(value)} %`;
  return formatNumber(value);
}

/** Rates, memory and CPU are shown as ratios to the baseline; latencies and counts are not. */
function hasBaselineRatio(metric: Metric): boolean {
  return metric.kind === 'rate' || metric.kind === 'bytes' || metric.kind === 'cpu';
}

export function tableRows(reports: readonly ScenarioReport[]): string[][] {
  const rows: string[][] = [];
  for (const report of reports) {
    report.metrics.forEach((m, i) => {
      const withBase = hasBaselineRatio(m);
      rows.push([
        i === 0 ? report.scenario : '',
        m.name,
        formatValue(m, m.switchyard),
        withBase ? formatRatio(ratio(m.switchyard, m.baseline)) : MISSING,
        withBase ? formatRatio(ratio(m.switchyard, m.baselineCorked)) : MISSING,
        m.fox !== undefined ? formatValue(m, m.fox) : report.foxSkipped ? 'n/a' : MISSING,
        withBase ? formatRatio(ratio(m.fox, m.baseline)) : MISSING,
        m.kind === 'count' ? MISSING : formatRatio(ratio(m.switchyard, m.fox)),
      ]);
    });
  }
  return rows;
}

export function textTable(reports: readonly ScenarioReport[]): string {
  return formatTable(TABLE_HEADER, tableRows(reports), TABLE_ALIGN);
}

export function markdownTable(reports: readonly ScenarioReport[]): string {
  return formatMarkdownTable(TABLE_HEADER, tableRows(reports), TABLE_ALIGN);
}

export interface TargetCheck {
  target: string;
  value: string;
  pass: boolean | undefined;
  why?: string;
}

function metric(reports: readonly ScenarioReport[], scenario: string, name: string): Metric | undefined {
  return reports.find((r) => r.scenario === scenario)?.metrics.find((m) => m.name === name);
}

export function check(target: string, value: number | undefined, pass: (v: number) => boolean, show: (v: number) => string, missing: string): TargetCheck {
  if (value === undefined || !Number.isFinite(value)) return { target, value: MISSING, pass: undefined, why: missing };
  return { target, value: show(value), pass: pass(value) };
}

/** The targets of issues 8 and 16 (ratios from this one run). */
export function checkTargets(reports: readonly ScenarioReport[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const json = metric(reports, 'rpc json', 'calls/s');
  const msgpack = metric(reports, 'rpc msgpack', 'calls/s');
  if (json) {
    checks.push(check('rpc json >= 0.75x corked relay', ratio(json.switchyard, json.baselineCorked), (v) => v >= 0.75, formatRatio, 'no corked baseline'));
    checks.push(check('rpc json >= 1.5x fox-wamp', ratio(json.switchyard, json.fox), (v) => v >= 1.5, formatRatio, 'fox-wamp not run'));
  }
  if (msgpack) {
    checks.push(check('rpc msgpack >= 0.8x corked relay', ratio(msgpack.switchyard, msgpack.baselineCorked), (v) => v >= 0.8, formatRatio, 'no corked baseline'));
  }
  if (json && msgpack) {
    checks.push(check('rpc msgpack not slower than json', ratio(msgpack.switchyard, json.switchyard), (v) => v >= 0.97, (v) => `${formatRatio(v)} (>= 0.97 passes: noise)`, 'missing run'));
  }
  const pubsubLost = metric(reports, 'pubsub', 'lost events');
  if (pubsubLost) checks.push(check('pubsub: 0 lost events', pubsubLost.switchyard, (v) => v === 0, (v) => formatNumber(v), 'missing run'));
  const fanoutLost = metric(reports, 'fanout', 'lost events');
  if (fanoutLost) checks.push(check('fanout: 0 lost events', fanoutLost.switchyard, (v) => v === 0, (v) => formatNumber(v), 'missing run'));
  const p99 = metric(reports, 'fanout', 'p99 ms');
  if (p99) checks.push(check('fanout p99 <= 50 ms', p99.switchyard, (v) => v <= 50, (v) => `${formatNumber(v)} ms`, 'missing run'));
  const rss = metric(reports, 'sessions', 'RSS bytes/session');
  if (rss) {
    checks.push(check('sessions: <= 8 KiB router RSS per idle session', rss.switchyard, (v) => v <= 8192, formatBytes, 'missing run'));
    checks.push(check('sessions: router RSS per idle session <= 1.0x relay connection', ratio(rss.switchyard, rss.baseline), (v) => v <= 1, formatRatio, 'no baseline'));
  }
  const cra = metric(reports, 'handshake', 'wampcra joins/router CPU-s');
  if (cra) {
    checks.push(check('handshake: salted-CRA joins per router CPU-s >= 1.3x fox-wamp', ratio(cra.switchyard, cra.fox), (v) => v >= 1.3, formatRatio, 'fox-wamp not run'));
    checks.push(check('handshake: salted-CRA joins per router CPU-s >= 0.6x relay connect/close', ratio(cra.switchyard, cra.baseline), (v) => v >= 0.6, formatRatio, 'no baseline'));
  }
  for (const report of reports) checks.push(...(report.checks ?? []));
  return checks;
}

export const CLUSTER_HEADER = ['scenario', 'metric', 'value', 'compared with', 'reference', 'ratio'];
const CLUSTER_ALIGN: Align[] = ['left', 'left', 'right', 'left', 'right', 'right'];

function formatCompared(unit: ComparedFigure['unit'], value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return MISSING;
  return unit === 'ms' ? `${formatNumber(value)} ms` : unit === 's' ? `${formatNumber(value)} s` : formatNumber(value);
}

/** The cluster scenarios' figures: value, reference of the same run, value / reference. */
export function clusterRows(reports: readonly ScenarioReport[]): string[][] {
  return reports.flatMap((report) => (report.compared ?? []).map((f, i) => [
    i === 0 ? report.scenario : '',
    f.metric,
    formatCompared(f.unit, f.value),
    f.versus ?? '',
    f.reference === undefined ? '' : formatCompared(f.unit, f.reference),
    f.reference === undefined ? '' : formatRatio(ratio(f.value, f.reference)),
  ]));
}

export function clusterTextTable(reports: readonly ScenarioReport[]): string {
  return formatTable(CLUSTER_HEADER, clusterRows(reports), CLUSTER_ALIGN);
}

export function clusterMarkdownTable(reports: readonly ScenarioReport[]): string {
  return formatMarkdownTable(CLUSTER_HEADER, clusterRows(reports), CLUSTER_ALIGN);
}

export function formatChecks(checks: readonly TargetCheck[]): string {
  return formatTable(
    ['target', 'this run', 'status'],
    checks.map((c) => [c.target, c.value, c.pass === undefined ? `not measured (${c.why})` : c.pass ? 'PASS' : 'FAIL']),
    ['left', 'right', 'left'],
  );
}
