import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry, type MetricValueWithName } from 'prom-client';
import { MESSAGE_NAMES } from '../protocol/messages.js';

/**
 * Prometheus metrics of one router (its own prom-client Registry, never the global default, so
 * two routers in one process do not mix their numbers).
 *
 * Hot path: messages and bytes in/out are counted in typed arrays indexed by message type (one
 * array store per message, no label lookup, no string building). prom-client's own `inc` hashes
 * its labels into a string on every call, even through a `labels()` child, so the prom-client
 * counters are filled from the arrays when /metrics is scraped instead. The two histograms are
 * `FastHistogram`s for the same reason (prom-client's `observe` costs ~150 ns: a closure and a
 * label hash per call; this one is a bucket scan over a typed array).
 */

/** An unlabelled Prometheus histogram with typed-array buckets, registered as a prom-client metric. */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(readonly name: string, readonly help: string, buckets: number[], registry: Registry) {
    this.bounds = Float64Array.from(buckets);
    this.counts = new Float64Array(buckets.length);
    registry.registerMetric(this as never);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** What prom-client's Registry reads when it renders the text format. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: bound }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** What the router exposes for the gauges computed on scrape. */
export interface MetricsSource {
  /** [realm, authmethod, count] for every joined session group. */
  sessionsByRealmAndMethod(): Iterable<[string, string, number]>;
  /** [realm, pending calls] for every realm. */
  pendingCallsByRealm(): Iterable<[string, number]>;
  /** The cluster's counters when the router is a cluster node (router/cluster/), else undefined. */
  cluster?(): ClusterCounters | undefined;
}

/** Totals since the node joined; counters are exposed as Prometheus counters, the rest as gauges. */
export interface ClusterCounters {
  natsConnected: boolean;
  peersAlive: number;
  peersDead: number;
  /** Cross-node messages sent and received, by kind (event, rpc, meta). */
  messagesOut: Record<string, number>;
  messagesIn: Record<string, number>;
  /** Cross-node messages not sent or not accepted, by reason (nats_down, too_long, malformed, ...). */
  dropped: Record<string, number>;
  /** Meta API answers some node did not contribute to in time. */
  partialMetaAnswers: number;
}

/** The subset a Session uses; `NO_METRICS` when the router has none (e.g. a bare SessionHost). */
export interface SessionMetrics {
  messageIn(type: number, bytes: number): void;
  messageOut(type: number, bytes: number): void;
  /** A message the receiver's serializer could not carry (not sent; its sender was answered). */
  undeliverable(type: number): void;
  authSucceeded(method: string): void;
  authFailed(method: string, reason: string): void;
}

/** The subset the dealer and broker use. */
export interface RoutingMetrics {
  /** A start time for `callFinished` (`performance.now()`, ms). */
  callStarted(): number;
  callFinished(startedAt: number): void;
  fanout(receivers: number): void;
}

const TYPES = 71; // message type codes are below 71 (YIELD = 70)
/** Client-controlled reasons (GOODBYE/ABORT URIs) must not grow the label set without bound. */
const MAX_CLOSE_REASONS = 64;

export class RouterMetrics implements SessionMetrics, RoutingMetrics {
  readonly registry = new Registry();
  private readonly inCount = new Float64Array(TYPES + 1);
  private readonly outCount = new Float64Array(TYPES + 1);
  private readonly undeliverableCount = new Float64Array(TYPES + 1);
  private bytesInTotal = 0;
  private bytesOutTotal = 0;
  /** Logins and closes, counted here per label and copied into prom-client on scrape (a label hash per join was ~3 µs). */
  private readonly authSuccess = new Map<string, number>();
  private readonly closes = new Map<string, number>();
  private readonly authFailure: Counter<'method' | 'reason'>;
  private readonly callDuration: FastHistogram;
  private readonly fanoutSize: FastHistogram;

  constructor(source: MetricsSource) {
    const registry = this.registry;
    const typeName = (type: number) => MESSAGE_NAMES[type] ?? String(type);
    const fromArray = (counts: Float64Array) => function (this: Counter<'type'>) {
      this.reset();
      for (let type = 0; type < counts.length; type++) if (counts[type]! > 0) this.inc({ type: typeName(type) }, counts[type]!);
    };
    new Counter({ name: 'switchyard_messages_in_total', help: 'WAMP messages received, by type', labelNames: ['type'], registers: [registry], collect: fromArray(this.inCount) });
    new Counter({ name: 'switchyard_messages_out_total', help: 'WAMP messages sent, by type', labelNames: ['type'], registers: [registry], collect: fromArray(this.outCount) });
    new Counter({
      name: 'switchyard_undeliverable_messages_total', help: 'Messages not sent because the receiver\'s serializer cannot carry a value in them, by type',
      labelNames: ['type'], registers: [registry], collect: fromArray(this.undeliverableCount),
    });
    const metrics = this;
    new Counter({
      name: 'switchyard_bytes_in_total', help: 'Bytes of WAMP messages received (serialized frames)', registers: [registry],
      collect() { this.reset(); this.inc(metrics.bytesInTotal); },
    });
    new Counter({
      name: 'switchyard_bytes_out_total', help: 'Bytes of WAMP messages sent (serialized frames)', registers: [registry],
      collect() { this.reset(); this.inc(metrics.bytesOutTotal); },
    });
    new Gauge({
      name: 'switchyard_sessions', help: 'Joined sessions, by realm and authentication method', labelNames: ['realm', 'authmethod'], registers: [registry],
      collect() {
        this.reset();
        for (const [realm, authmethod, count] of source.sessionsByRealmAndMethod()) this.set({ realm, authmethod }, count);
      },
    });
    new Gauge({
      name: 'switchyard_pending_calls', help: 'Calls routed to a callee and not answered yet, by realm', labelNames: ['realm'], registers: [registry],
      collect() {
        this.reset();
        for (const [realm, count] of source.pendingCallsByRealm()) this.set({ realm }, count);
      },
    });
    this.clusterMetrics(source, registry);
    const fromMap = (label: string, counts: Map<string, number>) => function (this: Counter<string>) {
      this.reset();
      for (const [value, count] of counts) this.inc({ [label]: value }, count);
    };
    new Counter({
      name: 'switchyard_auth_success_total', help: 'Successful logins, by method', labelNames: ['method'], registers: [registry],
      collect: fromMap('method', this.authSuccess),
    });
    this.authFailure = new Counter({
      name: 'switchyard_auth_failure_total', help: 'Refused logins, by method and reason', labelNames: ['method', 'reason'], registers: [registry],
    });
    new Counter({
      name: 'switchyard_closes_total', help: 'Ended sessions and connections, by reason (slow consumer, rate limited, timeout, ...)',
      labelNames: ['reason'], registers: [registry], collect: fromMap('reason', this.closes),
    });
    this.callDuration = new FastHistogram(
      'switchyard_call_duration_seconds', 'Time from routing a CALL to the callee\'s final RESULT or ERROR',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registry,
    );
    this.fanoutSize = new FastHistogram(
      'switchyard_event_fanout_receivers', 'Receivers of one publication (all matching subscriptions together)',
      [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000], registry,
    );
  }

  /** Computed on scrape from the cluster runtime; absent values (no cluster) give no samples. */
  private clusterMetrics(source: MetricsSource, registry: Registry): void {
    const counters = () => source.cluster?.();
    const byLabel = (label: string, pick: (c: ClusterCounters) => Record<string, number>) => function (this: Counter<string>) {
      this.reset();
      const c = counters();
      if (c) for (const [value, count] of Object.entries(pick(c))) this.inc({ [label]: value }, count);
    };
    new Gauge({
      name: 'switchyard_cluster_nats_connected', help: 'Whether this node is connected to NATS (cluster nodes only)', registers: [registry],
      collect() { this.reset(); const c = counters(); if (c) this.set(c.natsConnected ? 1 : 0); },
    });
    new Gauge({
      name: 'switchyard_cluster_peers', help: 'Other nodes heard from, by state', labelNames: ['state'], registers: [registry],
      collect() { this.reset(); const c = counters(); if (c) { this.set({ state: 'alive' }, c.peersAlive); this.set({ state: 'dead' }, c.peersDead); } },
    });
    new Counter({ name: 'switchyard_cluster_messages_out_total', help: 'Messages sent to other nodes, by kind', labelNames: ['kind'], registers: [registry], collect: byLabel('kind', (c) => c.messagesOut) });
    new Counter({ name: 'switchyard_cluster_messages_in_total', help: 'Messages received from other nodes, by kind', labelNames: ['kind'], registers: [registry], collect: byLabel('kind', (c) => c.messagesIn) });
    new Counter({ name: 'switchyard_cluster_dropped_total', help: 'Cross-node messages dropped, by reason', labelNames: ['reason'], registers: [registry], collect: byLabel('reason', (c) => c.dropped) });
    new Counter({
      name: 'switchyard_cluster_partial_meta_answers_total', help: 'Meta API answers some node did not contribute to in time', registers: [registry],
      collect() { this.reset(); const c = counters(); if (c) this.inc(c.partialMetaAnswers); },
    });
  }

  messageIn(type: number, bytes: number): void {
    this.inCount[type > TYPES ? TYPES : type]++;
    this.bytesInTotal += bytes;
  }

  messageOut(type: number, bytes: number): void {
    this.outCount[type > TYPES ? TYPES : type]++;
    this.bytesOutTotal += bytes;
  }

  undeliverable(type: number): void {
    this.undeliverableCount[type > TYPES ? TYPES : type]++;
  }

  authSucceeded(method: string): void {
    this.authSuccess.set(method, (this.authSuccess.get(method) ?? 0) + 1);
  }

  authFailed(method: string, reason: string): void {
    this.authFailure.inc({ method: method || 'none', reason });
  }

  /** Fed from the same place as `router.stats.closes`. Free-text details after ':' are dropped. */
  closed(reason: string): void {
    let label = reason.startsWith('protocol violation') ? 'protocol violation' : reason;
    if (!this.closes.has(label) && this.closes.size >= MAX_CLOSE_REASONS) label = 'other';
    this.closes.set(label, (this.closes.get(label) ?? 0) + 1);
  }

  callStarted(): number {
    return performance.now();
  }

  callFinished(startedAt: number): void {
    this.callDuration.observe((performance.now() - startedAt) / 1000);
  }

  fanout(receivers: number): void {
    this.fanoutSize.observe(receivers);
  }

  /** Totals for /status.json (no label strings, straight from the arrays). */
  snapshot(): { messagesIn: Record<string, number>; messagesOut: Record<string, number>; bytesIn: number; bytesOut: number } {
    const byName = (counts: Float64Array) => {
      const out: Record<string, number> = {};
      counts.forEach((n, type) => { if (n > 0) out[MESSAGE_NAMES[type] ?? String(type)] = n; });
      return out;
    };
    return { messagesIn: byName(this.inCount), messagesOut: byName(this.outCount), bytesIn: this.bytesInTotal, bytesOut: this.bytesOutTotal };
  }
}

/** For sessions whose host has no metrics (tests, in-process hosts). */
export const NO_METRICS: SessionMetrics & RoutingMetrics = {
  messageIn() {},
  messageOut() {},
  undeliverable() {},
  authSucceeded() {},
  authFailed() {},
  callStarted: () => 0,
  callFinished() {},
  fanout() {},
};
