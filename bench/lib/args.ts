import { parseArgs } from 'node:util';

/** Command-line flags of `npm run bench` (after `--`), with every figure bounded. */

export const SCENARIOS = ['rpc', 'pubsub', 'fanout', 'sessions', 'handshake', 'hostile'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenarios: ScenarioName[];
  /** Measured seconds per scenario and target. */
  seconds: number;
  /** Unmeasured load before each window. */
  warmupSeconds: number;
  /** Measured seconds of each relay baseline run. */
  baselineSeconds: number;
  quick: boolean;
  /** Run fox-wamp beside Switchyard (installed on demand). */
  peer: boolean;
  /** Start the Switchyard router child with --cpu-prof. */
  profile: boolean;
  callers: number;
  window: number;
  sessions: number;
  fanoutSubscribers: number;
  fanoutRate: number;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [options]

  --scenario NAME     run only NAME (repeatable or comma-separated): ${SCENARIOS.join(', ')}
  --seconds N         measured seconds per scenario and router (default 5, 1..120)
  --quick             short smoke run: 2 s windows, 5,000 idle sessions
  --no-peer           do not install or run fox-wamp
  --profile           run the Switchyard router with node --cpu-prof (bench/.profiles/)
  --callers N         rpc caller sessions (default 4)
  --window N          calls (or publications) in flight per session (default 100)
  --sessions N        idle sessions for "sessions" (default 20000, capped by the fd limit)
  --subscribers N     fanout subscribers (default 1000)
  --rate N            fanout events per second (default 50)
  -h, --help          this text

Environment: BENCH_ROUTER_NODE_ARGS adds node flags to the Switchyard router child
(e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
`;

function bounded(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}] (got ${JSON.stringify(raw)})`);
  return value;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        scenario: { type: 'string', multiple: true },
        seconds: { type: 'string' },
        quick: { type: 'boolean' },
        'no-peer': { type: 'boolean' },
        profile: { type: 'boolean' },
        callers: { type: 'string' },
        window: { type: 'string' },
        sessions: { type: 'string' },
        subscribers: { type: 'string' },
        rate: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const quick = values.quick === true;
  const names = (values.scenario ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario ${JSON.stringify(name)} (one of ${SCENARIOS.join(', ')})`);
  }
  const scenarios = names.length > 0 ? SCENARIOS.filter((s) => names.includes(s)) : [...SCENARIOS];
  const seconds = bounded('seconds', values.seconds, quick ? 2 : 5, 1, 120);
  return {
    scenarios,
    seconds,
    warmupSeconds: quick ? 0.5 : Math.min(2, Math.max(1, seconds / 5)),
    baselineSeconds: quick ? 1 : Math.min(seconds, 2),
    quick,
    peer: values['no-peer'] !== true,
    profile: values.profile === true,
    callers: bounded('callers', values.callers, 4, 1, 64),
    window: bounded('window', values.window, 100, 1, 1000),
    sessions: bounded('sessions', values.sessions, quick ? 5000 : 20_000, 10, 100_000),
    fanoutSubscribers: bounded('subscribers', values.subscribers, 1000, 1, 10_000),
    fanoutRate: bounded('rate', values.rate, 50, 1, 10_000),
    help: values.help === true,
  };
}
