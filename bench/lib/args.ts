import { parseArgs } from 'node:util';

/** Command-line flags of `npm run bench` (after `--`), with every figure bounded. */

/** The single-router scenarios: the default set. */
export const SCENARIOS = ['rpc', 'pubsub', 'fanout', 'sessions', 'handshake', 'hostile'] as const;
/** The cluster scenarios of issue 15 (bench/cluster.ts), run by `--cluster` or by name. */
export const CLUSTER_SCENARIOS = ['k1', 'k2', 'k3', 'k4', 'k6', 'k7'] as const;
/** Load against routers the bench did not start: chosen by the per-role URL flags. */
export const EXTERNAL_SCENARIO = 'external';
const ALL_SCENARIOS = [...SCENARIOS, ...CLUSTER_SCENARIOS, EXTERNAL_SCENARIO] as const;
export type ScenarioName = (typeof ALL_SCENARIOS)[number];
export type SingleScenarioName = (typeof SCENARIOS)[number];

/** Per-role URLs of routers started outside the bench, and the local pids whose CPU to count. */
export interface ExternalTargets {
  callerUrls: string[];
  calleeUrls: string[];
  subscriberUrls: string[];
  publisherUrl?: string;
  pids: number[];
}
export type ClusterScenarioName = (typeof CLUSTER_SCENARIOS)[number];

export function isClusterScenario(name: ScenarioName): name is ClusterScenarioName {
  return (CLUSTER_SCENARIOS as readonly string[]).includes(name);
}

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
  /** rpc: rounds of (relay baselines, Switchyard), the median round reported. */
  repeat: number;
  sessions: number;
  fanoutSubscribers: number;
  fanoutRate: number;
  /** Cluster scenarios: pin each router node, nats-server and the load generators to their own CPUs. */
  pin: boolean;
  external?: ExternalTargets;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [options]

  --scenario NAME     run only NAME (repeatable or comma-separated): ${ALL_SCENARIOS.join(', ')}
  --cluster           the cluster scenarios over NATS (${CLUSTER_SCENARIOS.join(', ')}), with any --scenario
  --pin               cluster scenarios: node a/b/c on CPU 0/1/2, nats-server on 3-4, clients on
                      5 and up (taskset; needs >= 8 CPUs), to measure scale-out
  --seconds N         measured seconds per scenario and router (default 5, 1..120)
  --quick             short smoke run: 2 s windows, 5,000 idle sessions
  --no-peer           do not install or run fox-wamp
  --profile           run the Switchyard router with node --cpu-prof (bench/.profiles/)
  --callers N         rpc caller sessions (default 4)
  --window N          calls (or publications) in flight per session (default 100)
  --repeat N          rpc: N rounds of relay baselines + Switchyard (default 1); the round with
                      the median ratio to the corked relay is reported, every round in a note
  --sessions N        idle sessions for "sessions" (default 20000, capped by the fd limit)
  --subscribers N     fanout subscribers (default 1000)
  --rate N            fanout events per second (default 50)
  --caller-urls LIST  with --callee-urls: scenario "external", rpc load on routers started
  --callee-urls LIST  elsewhere (comma-separated ws:// URLs; --callers sessions per caller
                      URL, one roundrobin callee per callee URL)
  --subscriber-urls LIST  with --publisher-url: fan-out on routers started elsewhere
  --publisher-url URL     (--subscribers split evenly over the subscriber URLs)
  --pids LIST         local router and nats-server pids whose CPU the external runs count
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

function urlList(flag: string, raw: string | undefined): string[] {
  const urls = (raw ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const url of urls) {
    if (!/^wss?:\/\/\S+$/.test(url)) throw new UsageError(`--${flag}: not a ws:// or wss:// URL: ${JSON.stringify(url)}`);
  }
  return urls;
}

function externalTargets(values: Record<string, string | boolean | string[] | undefined>): ExternalTargets | undefined {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const t: ExternalTargets = {
    callerUrls: urlList('caller-urls', str('caller-urls')),
    calleeUrls: urlList('callee-urls', str('callee-urls')),
    subscriberUrls: urlList('subscriber-urls', str('subscriber-urls')),
    publisherUrl: urlList('publisher-url', str('publisher-url'))[0],
    pids: (str('pids') ?? '').split(',').map((p) => p.trim()).filter(Boolean).map((p) => {
      if (!/^\d+$/.test(p)) throw new UsageError(`--pids: not a pid: ${JSON.stringify(p)}`);
      return Number(p);
    }),
  };
  const rpc = t.callerUrls.length > 0 || t.calleeUrls.length > 0;
  const fanout = t.subscriberUrls.length > 0 || t.publisherUrl !== undefined;
  if (!rpc && !fanout) {
    if (t.pids.length > 0) throw new UsageError('--pids goes with the per-role URL flags');
    return undefined;
  }
  if (rpc && (t.callerUrls.length === 0 || t.calleeUrls.length === 0)) throw new UsageError('--caller-urls and --callee-urls go together');
  if (fanout && (t.subscriberUrls.length === 0 || t.publisherUrl === undefined)) throw new UsageError('--subscriber-urls and --publisher-url go together');
  return t;
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
        repeat: { type: 'string' },
        window: { type: 'string' },
        sessions: { type: 'string' },
        subscribers: { type: 'string' },
        rate: { type: 'string' },
        cluster: { type: 'boolean' },
        pin: { type: 'boolean' },
        'caller-urls': { type: 'string' },
        'callee-urls': { type: 'string' },
        'subscriber-urls': { type: 'string' },
        'publisher-url': { type: 'string' },
        pids: { type: 'string' },
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
    if (!(ALL_SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario ${JSON.stringify(name)} (one of ${ALL_SCENARIOS.join(', ')})`);
  }
  if (values.cluster === true) names.push(...CLUSTER_SCENARIOS);
  const external = externalTargets(values);
  if (external) names.push(EXTERNAL_SCENARIO);
  else if (names.includes(EXTERNAL_SCENARIO)) throw new UsageError('scenario "external" needs --caller-urls and --callee-urls, or --subscriber-urls and --publisher-url');
  const scenarios = names.length > 0 ? ALL_SCENARIOS.filter((s) => names.includes(s)) : [...SCENARIOS];
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
    repeat: bounded('repeat', values.repeat, 1, 1, 9),
    sessions: bounded('sessions', values.sessions, quick ? 5000 : 20_000, 10, 100_000),
    fanoutSubscribers: bounded('subscribers', values.subscribers, 1000, 1, 10_000),
    fanoutRate: bounded('rate', values.rate, 50, 1, 10_000),
    pin: values.pin === true,
    external,
    help: values.help === true,
  };
}
