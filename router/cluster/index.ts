/**
 * The cluster runtime: everything a router needs to serve its realms together with other
 * processes through NATS (design: shared/cluster-nats.md). The router loads this module only when
 * its config has a `cluster` section (a dynamic import in server.ts), so a single process never
 * loads the NATS client. Nothing outside router/cluster/ imports `nats`.
 *
 * Start-up order: connect and check NATS, claim the node id, start heartbeats, read the whole
 * registration table into the view; only then does the router open its listeners, so a client
 * never sees a node that does not yet know the cluster's registrations.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StorageType, type ConnectionOptions, type KV, type KvEntry } from 'nats';
import type { ClusterConfig, RouterConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { ClusterCounters } from '../ops/metrics.js';
import type { Realm } from '../../realms/realm.js';
import type { MembershipChange } from './membership.js';
import { ClusterNode, ClusterStartError } from './node.js';
import { RegistryFollower, RegistryStore, RegistryView, type ClusterCallee } from './registry.js';
import { attachPubSub, createPubSub, type RealmPubSubLink } from './pubsub-link.js';
import { attachRpc, type RealmRpcLink } from './rpc-link.js';
import { attachMeta, type RealmMetaLink } from './meta-link.js';
import { attachAuth, type RealmAuthLink } from './auth-link.js';
import type { ClusterPubSub } from './pubsub.js';
import type { ClusterContext } from './context.js';

export interface ClusterStatus {
  node: string;
  incarnation: string;
  nats: 'connected' | 'reconnecting' | 'closed';
  peers: { node: string; incarnation: string; alive: boolean; heartbeatAgeMs: number; sessions: number; configMatches: boolean }[];
  registrations: number;
}

export class ClusterRuntime implements ClusterContext {
  readonly store: RegistryStore;
  readonly view: RegistryView;
  readonly pubsub: ClusterPubSub;
  private readonly links = new Map<Realm, { pubsub: RealmPubSubLink; rpc: RealmRpcLink; meta: RealmMetaLink; auth: Promise<RealmAuthLink> }>();
  private natsState: ClusterStatus['nats'] = 'connected';
  private readonly reconnectListeners = new Set<() => void>();
  private readonly follower: RegistryFollower;
  /** Counts reconnects: a recovery still retrying gives way to the next one. */
  private recoveries = 0;
  /** Set by stop(): a recovery still retrying ends (its NATS connection is closing or closed). */
  private stopped = false;

  private constructor(
    readonly config: ClusterConfig,
    readonly node: ClusterNode,
    readonly logger: Logger,
    readonly configDigest: string,
    /** Issued credentials, revocations, bans: file storage, so they survive a NATS restart. */
    readonly authKv: KV,
    /** The latest retained publication per (realm, topic), for get_retained on any node. */
    readonly retainKv: KV,
  ) {
    // This node's own entries count only for this process: a predecessor's under the same id are dead.
    const live = (callee: ClusterCallee) =>
      callee.node === node.node ? callee.incarnation === node.incarnation : node.membership.liveIncarnation(callee.node) === callee.incarnation;
    // Writes keep callees of peers not heard yet: only the janitor's sweep may remove those.
    const notGone = (callee: ClusterCallee) =>
      callee.node === node.node ? callee.incarnation === node.incarnation : !node.membership.knownGone(callee.node, callee.incarnation);
    this.store = new RegistryStore(node.registry, notGone);
    this.view = new RegistryView(live);
    this.pubsub = createPubSub(this);
    this.follower = new RegistryFollower(node.registry, this.view, (key) => this.registryChanged(key),
      (error) => this.logger.error('cluster.watch_failed', { node: node.node, error: String(error) }));
    node.onChange((change) => this.membershipChanged(change));
  }

  static async start(config: RouterConfig, logger: Logger, sessions: () => number): Promise<ClusterRuntime> {
    const cluster = config.cluster!;
    const configDigest = digestOf(config);
    const node = await ClusterNode.start({
      servers: cluster.nats, node: cluster.node, prefix: cluster.prefix, heartbeatMs: cluster.heartbeatMs,
      deadAfterMs: cluster.deadAfterMs, connectTimeoutMs: cluster.connectTimeoutMs, maxMessageBytes: config.limits.maxMessageBytes,
      configDigest, connection: connectionOptions(cluster), registryStorage: cluster.registryStorage, replicas: cluster.replicas, sessions,
    });
    if (cluster.strictConfig) await refuseDifferentPeers(node, configDigest, cluster.heartbeatMs);
    let runtime: ClusterRuntime;
    try {
      const { authKv, retainKv } = await openBuckets(node, cluster);
      runtime = new ClusterRuntime(cluster, node, logger, configDigest, authKv, retainKv);
    } catch (error) {
      await node.stop();
      throw error;
    }
    try {
      await runtime.follower.start();
    } catch (error) {
      await node.stop();
      throw error;
    }
    runtime.watchNats();
    warnIfUnprotected(cluster, logger);
    logger.info('cluster.joined', { node: cluster.node, incarnation: node.incarnation, nats: [cluster.nats].flat() });
    return runtime;
  }

  /**
   * Connects a realm's broker, dealer, session meta API and auth state to the other nodes; resolves
   * once the realm has the cluster's auth state (issued credentials, revocations, bans).
   */
  async attach(realm: Realm): Promise<void> {
    const existing = this.links.get(realm);
    if (existing) return void (await existing.auth);
    const auth = attachAuth(this, realm, this.authKv);
    realm.dealer.preferLocal = this.config.preferLocal;
    this.links.set(realm, { pubsub: attachPubSub(this, realm), rpc: attachRpc(this, realm), meta: attachMeta(this, realm), auth });
    await auth;
  }

  detach(realm: Realm): void {
    const link = this.links.get(realm);
    if (!link) return;
    this.links.delete(realm);
    link.pubsub.detach();
    link.rpc.detach();
    link.meta.detach();
    void link.auth.then((auth) => auth.detach(), () => undefined);
  }

  /**
   * A registration read from the bucket directly (a CALL that missed, rpc-link.ts catchUp) while
   * this node's view has none under its key yet: applied as the watch will apply it in a moment.
   * Returns false when the view got an entry meanwhile (the watch was first).
   */
  adopt(entry: KvEntry): boolean {
    if (this.view.claimAt(entry.key) !== undefined) return false;
    this.view.apply(entry);
    this.registryChanged(entry.key);
    return true;
  }

  private registryChanged(key: string): void {
    for (const link of this.links.values()) {
      link.rpc.registryChanged(key);
      link.meta.registryChanged(key);
    }
  }

  /**
   * Called after each reconnect to NATS, once the buckets exist again and the registry view is
   * current (what was missed meanwhile must be caught up).
   */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  get connected(): boolean {
    return this.natsState === 'connected';
  }

  /** For the ops endpoint's metrics (router/ops/metrics.ts). */
  counters(): ClusterCounters {
    const peers = this.node.membership.peers();
    const alive = peers.filter((p) => p.alive).length;
    const pubsub = this.pubsub;
    let partialMetaAnswers = 0;
    for (const link of this.links.values()) partialMetaAnswers += link.meta.partialAnswers;
    return {
      natsConnected: this.connected, peersAlive: alive, peersDead: peers.length - alive,
      messagesOut: { event: pubsub.sent }, messagesIn: { event: pubsub.received },
      dropped: { nats_down: pubsub.dropped, too_long: pubsub.tooLong, malformed: pubsub.malformed, refused: pubsub.refused, prefix_filtered: pubsub.overDelivered },
      partialMetaAnswers,
    };
  }

  status(): ClusterStatus {
    const now = Date.now();
    return {
      node: this.node.node, incarnation: this.node.incarnation, nats: this.natsState, registrations: this.view.size,
      peers: this.node.membership.peers().map((peer) => ({
        node: peer.node, incarnation: peer.incarnation, alive: peer.alive, heartbeatAgeMs: now - peer.lastSeen,
        sessions: peer.last.sessions ?? 0, configMatches: peer.last.configDigest === this.configDigest,
      })),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const realm of [...this.links.keys()]) this.detach(realm);
    this.follower.stop();
    await this.node.stop();
  }

  private membershipChanged(change: MembershipChange): void {
    this.logger.info(`cluster.node_${change.kind}`, { node: this.node.node, peer: change.node, incarnation: change.incarnation, ...('reason' in change ? { reason: change.reason } : {}) });
    if (change.kind === 'up' || change.kind === 'back' || change.kind === 'restarted') {
      const peer = this.node.membership.peers().find((p) => p.node === change.node);
      if (peer && peer.last.configDigest !== this.configDigest) {
        this.logger.warn('cluster.config_differs', { node: this.node.node, peer: change.node, hint: 'roles, users and limits should be the same on every node' });
      }
    }
    for (const link of this.links.values()) {
      link.rpc.membershipChanged(change);
      link.pubsub.membershipChanged(change);
    }
  }

  /**
   * After a reconnect (design §3.6 "Reconnect"): NATS may have restarted without its memory
   * buckets, and the old watches ended with the old connection. Re-create the buckets, read the
   * registry again, let each realm re-assert its own callees, then wake the other followers (auth,
   * retained events). Retried while NATS stays up; a newer reconnect takes over.
   */
  private async recover(): Promise<void> {
    const attempt = ++this.recoveries;
    for (;;) {
      if (attempt !== this.recoveries || !this.connected || this.stopped) return;
      try {
        await openBuckets(this.node, this.config);
        await this.node.reopen();
        await this.follower.start();
        break;
      } catch (error) {
        this.logger.warn('cluster.recovery_retry', { node: this.node.node, error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS).unref());
      }
    }
    if (attempt !== this.recoveries) return;
    this.logger.info('cluster.recovered', { node: this.node.node, registrations: this.view.size });
    for (const link of this.links.values()) link.rpc.recovered();
    for (const listener of this.reconnectListeners) listener();
  }

  private watchNats(): void {
    void (async () => {
      for await (const status of this.node.data.status()) {
        if (status.type === 'disconnect') this.natsState = 'reconnecting';
        else if (status.type === 'reconnect') this.natsState = 'connected';
        else continue;
        this.logger.warn(`cluster.nats_${status.type}`, { node: this.node.node, server: String(status.data) });
        if (status.type === 'reconnect') void this.recover();
      }
      this.natsState = 'closed';
    })();
  }
}

/** The buckets beside the registry (node.ts opens that one): created if missing, else opened as they are. */
async function openBuckets(node: ClusterNode, cluster: ClusterConfig): Promise<{ authKv: KV; retainKv: KV }> {
  const kv = node.data.jetstream().views;
  const authKv = await kv.kv(`${cluster.prefix}_auth`, { history: 1, storage: StorageType.File, replicas: cluster.replicas });
  const retainKv = await kv.kv(`${cluster.prefix}_retain`, { history: 1, storage: StorageType.Memory, replicas: cluster.replicas });
  return { authKv, retainKv };
}

const RECOVERY_RETRY_MS = 250;

/**
 * `strictConfig`: after one heartbeat interval every live peer has been heard; if one of them runs
 * other realms, roles, users or limits, this node leaves again and refuses to start.
 */
async function refuseDifferentPeers(node: ClusterNode, configDigest: string, heartbeatMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, heartbeatMs + Math.min(heartbeatMs, 250)));
  const differing = node.membership.peers().filter((peer) => peer.alive && peer.last.configDigest !== configDigest).map((peer) => peer.node);
  if (differing.length === 0) return;
  await node.stop();
  throw new ClusterStartError(`strictConfig: the realms, roles, users or limits of node(s) ${differing.join(', ')} differ from this node's config`);
}

/** Roles, users and limits, hashed: nodes compare it in heartbeats (secrets never leave the node). */
function digestOf(config: RouterConfig): string {
  return createHash('sha256').update(JSON.stringify({ realms: config.realms, limits: config.limits })).digest('hex').slice(0, 16);
}

/** `${NAME}` in credentials comes from the environment, so secrets stay out of the config file. */
export function expandEnv(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const found = env[name];
    if (found === undefined) throw new Error(`cluster credentials name \${${name}}, which is not set in the environment`);
    return found;
  });
}

function connectionOptions(cluster: ClusterConfig): Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'tls'> {
  const options: Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'tls'> = {};
  if (cluster.auth?.user !== undefined) options.user = expandEnv(cluster.auth.user);
  if (cluster.auth?.pass !== undefined) options.pass = expandEnv(cluster.auth.pass);
  if (cluster.auth?.token !== undefined) options.token = expandEnv(cluster.auth.token);
  if (cluster.tls) {
    options.tls = {
      ...(cluster.tls.ca ? { ca: readFileSync(cluster.tls.ca, 'utf8') } : {}),
      ...(cluster.tls.cert ? { cert: readFileSync(cluster.tls.cert, 'utf8') } : {}),
      ...(cluster.tls.key ? { key: readFileSync(cluster.tls.key, 'utf8') } : {}),
    };
  }
  return options;
}

/** Whoever can publish to the cluster's subjects can bypass WAMP authentication: say so. */
export function warnIfUnprotected(cluster: ClusterConfig, logger: Logger): void {
  const remote = [cluster.nats].flat().some((url) => !/^(nats|tls):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(url));
  if (remote && cluster.auth === undefined) {
    logger.warn('cluster.nats_unauthenticated', {
      node: cluster.node, hint: 'a NATS server off this host needs credentials with subject permissions limited to the cluster (README "Scaling out")',
    });
  }
}
