import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { runClusterScenario } from './cluster.js';
import { runExternal } from './external.js';
import { isClusterScenario, parseBenchArgs, USAGE, UsageError, type ScenarioName } from './lib/args.js';
import { ensureFox, log, ROOT } from './lib/harness.js';
import { openFileLimitOf } from './lib/proc.js';
import { topSelfTime, type CpuProfile } from './lib/profile.js';
import { checkTargets, clusterMarkdownTable, clusterTextTable, formatChecks, markdownTable, textTable } from './lib/report.js';
import { formatNumber, formatTable } from './lib/table.js';
import { runScenario, type Context, type Figures, type ScenarioReport } from './scenarios.js';

/**
 * `npm run bench`: Switchyard against a trivial ws relay (the baseline, measured just before
 * each scenario) and, when it can be installed, fox-wamp. Progress goes to stderr; stdout gets
 * one JSON line per scenario as it finishes, then the table, the targets and (with --profile)
 * the top self-time functions of the router.
 */

function machine(): string {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
}

function profileSummary(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const top = topSelfTime(profile, 10);
  return formatTable(
    ['self ms', 'self %', 'function', 'location'],
    top.map((t) => [formatNumber(t.selfMs), `${t.percent.toFixed(1)}`, t.functionName, t.location]),
    ['right', 'right', 'left', 'left'],
  );
}

/** Above this, other processes took a share of the 2 cores big enough to move the figures. */
const NOISY_OTHER_CPU_PERCENT = 25;

/** A note for each run during which processes outside the bench were busy. */
function noiseNotes(report: ScenarioReport): string[] {
  const runs: [string, Figures | undefined][] = [
    ...Object.entries(report.baseline).map(([k, v]): [string, Figures] => [`baseline ${k}`, v]),
    ['switchyard', report.switchyard],
    ['fox-wamp', report.fox],
  ];
  const notes: string[] = [];
  for (const [name, figures] of runs) {
    for (const [key, value] of Object.entries(figures ?? {})) {
      if (!key.endsWith('otherCpuPercent') || typeof value !== 'number' || value <= NOISY_OTHER_CPU_PERCENT) continue;
      const part = key.includes('.') ? ` ${key.split('.')[0]}` : '';
      notes.push(`noisy machine during ${name}${part}: processes outside the bench used ${formatNumber(value)} % of a core`);
    }
  }
  return notes;
}

function run(ctx: Context, name: ScenarioName): Promise<ScenarioReport[]> {
  if (isClusterScenario(name)) return runClusterScenario(ctx, name);
  if (name === 'external') return runExternal(ctx);
  return runScenario(ctx, name);
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const foxUnavailable = options.peer ? await ensureFox() : 'disabled with --no-peer';
  if (foxUnavailable) log(`fox-wamp skipped: ${foxUnavailable}`);
  const ctx: Context = { options, foxUnavailable, stamp };
  const fd = openFileLimitOf('self');
  log(`machine: ${machine()}; open-file limit ${fd?.soft}/${fd?.hard}`);
  log(`scenarios: ${options.scenarios.join(', ')}; ${options.seconds} s measured per run after ${options.warmupSeconds} s warm-up; baseline ${options.baselineSeconds} s`);

  const reports: ScenarioReport[] = [];
  for (const name of options.scenarios) {
    log(`scenario ${name}`);
    try {
      for (const report of await run(ctx, name)) {
        reports.push(report);
        process.stdout.write(JSON.stringify({
          bench: 'switchyard', date: started.toISOString(), ...report, metrics: undefined,
          summary: Object.fromEntries(report.metrics.map((m) => [m.name, { switchyard: m.switchyard, fox: m.fox, baseline: m.baseline, baselineCorked: m.baselineCorked }])),
        }) + '\n');
        report.notes.push(...noiseNotes(report));
        for (const note of report.notes) log(`  note: ${note}`);
      }
    } catch (error) {
      log(`scenario ${name} failed: ${(error as Error).stack ?? String(error)}`);
      process.stdout.write(JSON.stringify({ bench: 'switchyard', date: started.toISOString(), scenario: name, error: String((error as Error).message ?? error) }) + '\n');
    }
  }

  const header = `Switchyard bench, ${started.toISOString()}\nmachine: ${machine()}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
    `baseline: trivial ws relay between two clients (uncorked / corked), measured right before each scenario;\n` +
    `"x relay" = figure / relay figure of the same kind; fox-wamp ${foxUnavailable ? `skipped (${foxUnavailable})` : 'in the same run'}`;
  const single = reports.filter((r) => r.compared === undefined);
  const cluster = reports.filter((r) => r.compared !== undefined);
  const tables = [
    ...(single.length > 0 || cluster.length === 0 ? [textTable(single)] : []),
    ...(cluster.length > 0 ? [`cluster scenarios (CPU = routers + nats-server):\n${clusterTextTable(cluster)}`] : []),
  ];
  const checks = formatChecks(checkTargets(reports));
  process.stdout.write(`\n${header}\n\n${tables.join('\n\n')}\n\n${checks}\n`);
  const notes = reports.flatMap((r) => r.notes.map((n) => `- ${r.scenario}: ${n}`));
  if (notes.length > 0) process.stdout.write(`\nnotes:\n${notes.join('\n')}\n`);

  const profiles = reports.flatMap((r) => r.profiles);
  for (const file of profiles) {
    process.stdout.write(`\nrouter CPU profile ${basename(file)} (top 10 self time, idle excluded):\n${profileSummary(file)}\n`);
  }

  const dir = join(ROOT, 'bench', '.results');
  mkdirSync(dir, { recursive: true });
  const markdown = [
    ...(single.length > 0 || cluster.length === 0 ? [markdownTable(single)] : []),
    ...(cluster.length > 0 ? [clusterMarkdownTable(cluster)] : []),
  ];
  writeFileSync(join(dir, 'latest.md'), `${header.replace(/\n/g, '  \n')}\n\n${markdown.join('\n\n')}\n\n\`\`\`\n${checks}\n\`\`\`\n`);
  writeFileSync(join(dir, 'latest.json'), JSON.stringify({ date: started.toISOString(), machine: machine(), options, reports }, null, 2) + '\n');
  log(`results written to bench/.results/latest.{md,json}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
