/**
 * This process as a member of the cluster (design: shared/cluster-nats.md §3.1, §3.6): its NATS
 * connections, the checks that refuse to start on a NATS server that cannot carry the cluster, the
 * node-id claim, and heartbeats in both directions feeding {@link Membership}.
 *
 * Two connections: data (events, invocations, results; later modules) and control (heartbeats), so
 * a burst of data cannot delay a heartbeat into a false death. Both reconnect forever: the NATS
 * client's default gives up after ten attempts, about 20 s, and a router must outlive a NATS restart.
 */

import { randomBytes } from 'node:crypto';
import { connect, StorageType, type ConnectionOptions, type KV, type NatsConnection, type Subscription } from 'nats';
import { Membership, type Heartbeat, type MembershipChange } from './membership.js';
import { encodeToken, heartbeatSubject, heartbeatWildcard, type SubjectScheme } from './subjects.js';

/** Room for the cluster's envelope around a WAMP message of `maxMessageBytes`. */
export const ENVELOPE_ALLOWANCE_BYTES = 4096;

export interface ClusterNodeOptions {
  servers: string | string[];
  node: string;
  prefix: string;
  heartbeatMs: number;
  deadAfterMs: number;
  /** How long start() keeps trying to reach NATS before it refuses. */
  connectTimeoutMs: number;
  maxMessageBytes: number;
  /** Identifies the node's roles and credentials, so peers can see a config that differs. */
  configDigest: string;
  /** user/pass, token, TLS: passed to the NATS client as they are. */
  connection?: Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'tls' | 'authenticator'>;
  /** KV storage of the registry bucket: memory (re-asserted after a NATS restart) or file. */
  registryStorage: 'memory' | 'file';
  replicas: number;
  /** Sessions on this node, for the heartbeat (status page). */
  sessions?: () => number;
}

export class ClusterStartError extends Error {
  override readonly name = 'ClusterStartError';
}

interface NodeRecord {
  incarnation: string;
  startedAt: number;
}

export class ClusterNode {
  readonly incarnation = randomBytes(8).toString('hex');
  readonly startedAt = Date.now();
  readonly membership: Membership;
  readonly scheme: SubjectScheme;
  private readonly listeners = new Set<(change: MembershipChange) => void>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private heartbeatSub: Subscription | undefined;
  private stopped = false;

  private constructor(
    private readonly options: ClusterNodeOptions,
    readonly data: NatsConnection,
    readonly control: NatsConnection,
    readonly registry: KV,
  ) {
    this.membership = new Membership(options.node, options.deadAfterMs);
    this.scheme = { prefix: options.prefix };
  }

  /** Connects, checks the server, claims the node id and starts heartbeats; refuses with a ClusterStartError. */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const data = await connectWithin(options, 'data');
    let control: NatsConnection | undefined;
    try {
      checkServer(data, options);
      control = await connectWithin(options, 'control');
      const registry = await openRegistry(data, options);
      const node = new ClusterNode(options, data, control, registry);
      await node.claimNodeId();
      node.startHeartbeats();
      return node;
    } catch (error) {
      await Promise.allSettled([data.close(), control?.close()]);
      throw error;
    }
  }

  onChange(listener: (change: MembershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get node(): string {
    return this.options.node;
  }

  /** Graceful leave: a goodbye beat (peers drop this node at once), the node record removed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTimers();
    // Each step is bounded: while NATS is unreachable a flush or a drain would wait for a reconnect
    // that may never come, and a stopping router must not hang on it.
    await settleWithin(STOP_STEP_MS, (async () => {
      this.control.publish(heartbeatSubject(this.scheme, this.node), encodeBeat(this.beat(true)));
      await this.control.flush();
      await this.registry.delete(nodeKey(this.node));
    })());
    await settleWithin(STOP_STEP_MS, Promise.allSettled([this.data.drain(), this.control.drain()]));
    await Promise.allSettled([this.data.close(), this.control.close()]);
  }

  /**
   * After a reconnect: the registry bucket again in case NATS lost it (a memory bucket does not
   * survive a server restart; this KV handle works on the re-created one), and this node's record
   * in it, so the id stays claimed against a second process.
   */
  async reopen(): Promise<void> {
    await openRegistry(this.data, this.options);
    await this.registry.put(nodeKey(this.node), encodeRecord({ incarnation: this.incarnation, startedAt: this.startedAt }));
  }

  /** Drops both connections without a goodbye, as a crash would (tests of failure handling). */
  async crash(): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    await Promise.allSettled([this.data.close(), this.control.close()]);
  }

  /**
   * Refuses to run twice under one node id: an existing record whose node is still beating means
   * another live process has this id. A record without beats is a crashed predecessor: take over.
   */
  private async claimNodeId(): Promise<void> {
    const key = nodeKey(this.node);
    const existing = await this.registry.get(key);
    if (existing !== null && existing.operation === 'PUT') {
      const previous = existing.json<NodeRecord>();
      const alive = await this.heardWithin(previous.incarnation, this.options.deadAfterMs);
      if (alive) throw new ClusterStartError(`node id "${this.node}" is already in use by a running node (started ${new Date(previous.startedAt).toISOString()})`);
    }
    await this.registry.put(key, encodeRecord({ incarnation: this.incarnation, startedAt: this.startedAt }));
  }

  /** Whether a heartbeat of this node id with `incarnation` arrives within `ms`. */
  private async heardWithin(incarnation: string, ms: number): Promise<boolean> {
    const sub = this.control.subscribe(heartbeatSubject(this.scheme, this.node), { max: 1, timeout: ms });
    try {
      for await (const msg of sub) {
        const beat = msg.json<Heartbeat>();
        if (beat.incarnation === incarnation && !beat.bye) return true;
      }
    } catch {
      // the subscription's timeout: nobody beats under this id
    }
    return false;
  }

  private startHeartbeats(): void {
    this.heartbeatSub = this.control.subscribe(heartbeatWildcard(this.scheme), {
      callback: (error, msg) => {
        if (error !== null) return;
        let beat: Heartbeat;
        try {
          beat = msg.json<Heartbeat>();
        } catch {
          return; // not ours: ignore rather than trust
        }
        this.emit(this.membership.heartbeat(beat, Date.now()));
      },
    });
    const send = () => this.control.publish(heartbeatSubject(this.scheme, this.node), encodeBeat(this.beat(false)));
    send();
    this.heartbeatTimer = setInterval(send, this.options.heartbeatMs).unref();
    this.tickTimer = setInterval(() => this.emit(this.membership.tick(Date.now())), Math.max(50, this.options.heartbeatMs / 4)).unref();
  }

  private beat(bye: boolean): Heartbeat {
    return {
      node: this.node, incarnation: this.incarnation, startedAt: this.startedAt, configDigest: this.options.configDigest,
      sessions: this.options.sessions?.() ?? 0, ...(bye ? { bye: true } : {}),
    };
  }

  private emit(changes: MembershipChange[]): void {
    for (const change of changes) for (const listener of this.listeners) listener(change);
  }

  private stopTimers(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.tickTimer);
    this.heartbeatSub?.unsubscribe();
  }
}

/** How long each step of a graceful stop may take before the connections are simply closed. */
const STOP_STEP_MS = 1000;

/** Waits for `promise` to settle, at most `ms`; never rejects (peers notice silence instead). */
async function settleWithin(ms: number, promise: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([promise.then(() => undefined, () => undefined), elapsed]);
  clearTimeout(timer);
}

function nodeKey(node: string): string {
  return `n.${encodeToken(node)}`;
}

/** Creates the registry bucket, or opens it as it is. */
function openRegistry(data: NatsConnection, options: ClusterNodeOptions): Promise<KV> {
  return data.jetstream().views.kv(`${options.prefix}_reg`, {
    history: 1, replicas: options.replicas, storage: options.registryStorage === 'file' ? StorageType.File : StorageType.Memory,
  });
}

function encodeRecord(record: NodeRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

function encodeBeat(beat: Heartbeat): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(beat));
}

/** Keeps trying to reach NATS until `connectTimeoutMs`; then refuses, naming the servers. */
async function connectWithin(options: ClusterNodeOptions, role: 'data' | 'control'): Promise<NatsConnection> {
  const deadline = Date.now() + options.connectTimeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await connect({
        ...options.connection,
        servers: options.servers, name: `switchyard-${options.node}-${role}`, noEcho: true,
        maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5000,
        timeout: Math.max(100, Math.min(2000, deadline - Date.now())),
      });
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))));
    }
  }
  throw new ClusterStartError(`cannot reach NATS at ${[options.servers].flat().join(', ')} within ${options.connectTimeoutMs} ms: ${(lastError as Error)?.message ?? 'timeout'}`);
}

/** JetStream on, and payloads big enough for our largest message plus the envelope. */
function checkServer(nc: NatsConnection, options: ClusterNodeOptions): void {
  const info = nc.info;
  if (info?.jetstream !== true) {
    throw new ClusterStartError('the NATS server has no JetStream (start it with -js and a store directory: nats-server -js -sd DIR)');
  }
  const needed = options.maxMessageBytes + ENVELOPE_ALLOWANCE_BYTES;
  if (info.max_payload < needed) {
    throw new ClusterStartError(
      `NATS max_payload is ${info.max_payload} bytes, below limits.maxMessageBytes (${options.maxMessageBytes}) plus ${ENVELOPE_ALLOWANCE_BYTES} for the envelope: raise max_payload in the NATS server config or lower maxMessageBytes`,
    );
  }
}
