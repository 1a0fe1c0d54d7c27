import type { ClusterRuntime } from './cluster/index.js';
import { Realm } from '../realms/realm.js';
import type { RouterConfig } from './config.js';
import type { Limits } from './limits.js';
import { silentLogger, withFields, type Logger } from './log.js';
import { CloseUri } from './protocol/errors.js';
import { randomId } from './protocol/ids.js';
import { Session, type SessionHost } from './session.js';
import type { Transport } from './transport/transport.js';
import type { ConnectionHandler, Listener, ListeningAddress } from './transport/listener.js';
import type { HttpBridgeHost } from './transport/http-bridge.js';
import { ConnectionLedger, type ConnectionSlot } from './transport/connection-ledger.js';
import { SocketListener } from './transport/socket-listener.js';
import { unappliedChanges } from './transport/reload-plan.js';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Authenticator } from '../auth/authenticator.js';
import type { AppAuthorizer } from '../realms/authorizer.js';
import { warnPermissionFindings } from '../realms/permission-lint.js';
import { AttachedRouter, type AttachOptions } from './transport/attach.js';
import { RouterMetrics } from './ops/metrics.js';
import { OpsServer, type OpsAddress } from './ops/ops-server.js';
import { openInProcessSession, type InProcessIdentity, type InProcessSession } from './inprocess.js';

/**
 * The composition root: realms from a validated config, listeners, sessions, graceful stop.
 * Every session, authenticated or not, is tracked so that shutdown reaches all of them.
 */

export interface RouterOptions {
  logger?: Logger;
  /**
   * Code-level authenticators per realm name. One for a method replaces the configured one for
   * that method; the client's HELLO.authmethods order still chooses among them.
   */
  authenticators?: Record<string, Authenticator[]>;
  /** Code-level authorizer per realm name, asked before the static rules (see AppAuthorizer). */
  authorizers?: Record<string, AppAuthorizer>;
}

export interface Router {
  readonly realms: ReadonlyMap<string, Realm>;
  /** Open every configured listener; resolves with the bound addresses (port 0 → the real port). */
  listen(): Promise<ListeningAddress[]>;
  /** GOODBYE `wamp.close.system_shutdown` to every session, then stop listening and close all. */
  close(reason?: string): Promise<void>;
  /** All connections with a session object, joined or not. */
  readonly connectionCount: number;
  /** Counters for operations (closes by reason: slow consumer, stale connection, rate limited, …). */
  readonly stats: RouterStats;
  /**
   * Apply a new config without dropping sessions that are still allowed: realms are added,
   * reconfigured or removed, listeners take their new `allowedOrigins`/`requireOrigin`. Returns
   * (and logs as `config.not_applied` warnings) the JSON paths of changes that need a restart.
   */
  reload(config: RouterConfig): string[];
  /**
   * Serve WAMP on an existing http/https server (Express, Fastify) at `options.path` (default
   * `/ws`); origin, subprotocol, caps and limits as for a WebSocket listener. `close()` detaches.
   */
  attach(server: HttpServer | HttpsServer, options?: AttachOptions): void;
  /** An in-process session joined to `realm` as `{authid, authrole}` (the role must exist). */
  session(realm: string, identity: InProcessIdentity): Promise<InProcessSession>;
  /** Prometheus metrics of this router (its own prom-client registry). */
  readonly metrics: RouterMetrics;
  /** The cluster runtime once `listen()` has joined the cluster (config `cluster`), else undefined. */
  readonly cluster: ClusterRuntime | undefined;
  /** Where the ops endpoint (config `ops`) listens, once `listen()` has opened it. */
  readonly opsAddress: OpsAddress | undefined;
}

export type { ListeningAddress };

export interface RouterStats {
  closes: Record<string, number>;
}

export function createRouter(config: RouterConfig, options: RouterOptions = {}): Router {
  const logger = options.logger ?? silentLogger;
  // Log lines name the node, so a cluster's lines can be told apart once collected.
  return new SwitchyardRouter(config, config.cluster ? withFields(logger, { node: config.cluster.node }) : logger, options);
}

class SwitchyardRouter implements Router, SessionHost {
  readonly realms = new Map<string, Realm>();
  readonly limits: Limits;
  private readonly listeners: Listener[];
  /** `attach()`ed application servers; stopped and drained like listeners. */
  private readonly attached: Listener[] = [];
  private readonly sessions = new Set<Session>();
  private readonly liveIds = new Set<number>();
  /** Connection caps, counted per TCP connection from its accept (transport/connection-ledger.ts). */
  readonly ledger: ConnectionLedger;
  /** The config the router started with: a reload reports what differs from it and cannot be applied. */
  private readonly config: RouterConfig;
  readonly stats: RouterStats = { closes: {} };
  private closing: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;
  readonly metrics: RouterMetrics;
  private readonly ops: OpsServer | undefined;
  opsAddress: OpsAddress | undefined;
  private listenersUp = false;
  private readonly startedAt = Date.now();
  /** Set by listen() when the config has a `cluster` section (router/cluster/). */
  cluster: ClusterRuntime | undefined;

  constructor(config: RouterConfig, readonly logger: Logger, private readonly extensions: RouterOptions = {}) {
    this.limits = config.limits;
    this.config = config;
    warnPermissionFindings(config, logger);
    this.ledger = new ConnectionLedger(this.limits, () => this.closing !== undefined);
    for (const realm of config.realms) this.realms.set(realm.name, new Realm(realm, this.limits, logger, this.realmExtensions(realm.name)));
    this.listeners = config.listeners.map((listener, i) => new SocketListener(i, listener, this.limits, logger, this.connectionHandler(), this.bridgeHost()));
    this.metrics = new RouterMetrics({
      sessionsByRealmAndMethod: () => this.sessionGroups(),
      pendingCallsByRealm: () => [...this.realms.values()].map((realm) => [realm.name, realm.dealer.pendingCallCount] as [string, number]),
      cluster: () => this.cluster?.counters(),
    });
    for (const realm of this.realms.values()) this.instrument(realm);
    this.ops = config.ops ? new OpsServer(config.ops, this.opsHost(), logger) : undefined;
  }

  // ----- operations (router/ops) -----

  private instrument(realm: Realm): void {
    realm.dealer.metrics = this.metrics;
    realm.broker.metrics = this.metrics;
  }

  private *sessionGroups(): Iterable<[string, string, number]> {
    for (const realm of this.realms.values()) {
      const byMethod = new Map<string, number>();
      for (const session of realm.sessions.values()) byMethod.set(session.authmethod, (byMethod.get(session.authmethod) ?? 0) + 1);
      for (const [method, count] of byMethod) yield [realm.name, method, count];
    }
  }

  private opsHost() {
    return {
      metrics: this.metrics,
      limits: this.limits,
      healthy: () => !this.closing,
      ready: () => this.listenersUp && this.realms.size > 0 && !this.closing && (this.cluster?.connected ?? true),
      status: () => this.status(),
    };
  }

  private status() {
    const realms = [...this.realms.values()].map((realm) => ({
      name: realm.name,
      sessions: realm.sessions.size,
      registrations: realm.dealer.registrationCount,
      subscriptions: realm.broker.subscriptionCount,
      pendingCalls: realm.dealer.pendingCallCount,
      sessionList: [...realm.sessions.values()].slice(0, 200).map((s) => ({ id: s.id, authid: s.authid, authrole: s.authrole, authmethod: s.authmethod })),
    }));
    const sum = (key: 'sessions' | 'registrations' | 'subscriptions' | 'pendingCalls') => realms.reduce((n, r) => n + r[key], 0);
    return {
      healthy: !this.closing, ready: this.listenersUp && !this.closing, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      connections: this.sessions.size,
      totals: { sessions: sum('sessions'), registrations: sum('registrations'), subscriptions: sum('subscriptions'), pendingCalls: sum('pendingCalls') },
      realms,
      ...(this.cluster ? { cluster: this.cluster.status() } : {}),
      counters: { closes: { ...this.stats.closes }, ...this.metrics.snapshot() },
    };
  }

  private realmExtensions(name: string) {
    const own = <T>(record: Record<string, T> | undefined) => (record && Object.hasOwn(record, name) ? record[name] : undefined);
    return { authenticators: own(this.extensions.authenticators), authorizer: own(this.extensions.authorizers) };
  }

  private connectionHandler(): ConnectionHandler {
    return { ledger: this.ledger, accept: (transport, slot) => this.accept(transport, slot) };
  }

  /** The HTTP bridge serves requests while the router runs (its connections were counted by the listener). */
  private bridgeHost(): HttpBridgeHost {
    return { realms: this.realms, admit: () => !this.closing };
  }

  attach(server: HttpServer | HttpsServer, options: AttachOptions = {}): void {
    if (this.closing) throw new Error('router is closed');
    this.attached.push(new AttachedRouter(server, options, this.limits, this.logger, this.connectionHandler(), this.bridgeHost()));
  }

  session(realm: string, identity: InProcessIdentity): Promise<InProcessSession> {
    if (this.closing) return Promise.reject(new Error('router is closed'));
    return openInProcessSession({ logger: this.logger, accept: (t) => this.accept(t), findRealm: (n) => this.findRealm(n) }, realm, identity);
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  async listen(): Promise<ListeningAddress[]> {
    const addresses: ListeningAddress[] = [];
    // A cluster node opens no port before it knows the cluster's registrations.
    if (this.config.cluster && !this.cluster) await this.joinCluster();
    if (this.ops && !this.opsAddress) this.opsAddress = await this.ops.listen();
    for (const listener of this.listeners) addresses.push(await listener.listen());
    this.listenersUp = true;
    return addresses;
  }

  /** Loaded only here, so a router without a `cluster` section never loads the NATS client. */
  private async joinCluster(): Promise<void> {
    const { ClusterRuntime } = await import('./cluster/index.js');
    this.cluster = await ClusterRuntime.start(this.config, this.logger, () => this.sessions.size);
    for (const realm of this.realms.values()) await this.cluster.attach(realm);
  }

  /**
   * A session on a connection the listener counted (reliability §2.12 item 7: total, per remote
   * address, not yet authenticated); an in-process session is counted here, without caps.
   */
  private accept(transport: Transport, slot?: ConnectionSlot): Session {
    const session = new Session(transport, this);
    this.sessions.add(session);
    session.slot = slot ?? this.ledger.track(transport.info.remoteAddress);
    return session;
  }

  sessionJoined(session: Session): void {
    session.slot?.authenticated();
  }

  findRealm(name: string): Realm | undefined {
    return this.realms.get(name);
  }

  allocateSessionId(): number {
    let id = randomId();
    while (this.liveIds.has(id)) id = randomId();
    this.liveIds.add(id);
    return id;
  }

  releaseSessionId(id: number): void {
    this.liveIds.delete(id);
  }

  sessionClosed(session: Session, reason: string): void {
    if (!this.sessions.delete(session)) return;
    // The listener releases a TCP connection's slot when the socket closes; this covers in-process ones.
    session.slot?.release();
    this.stats.closes[reason] = (this.stats.closes[reason] ?? 0) + 1;
    this.metrics.closed(reason);
    if (this.sessions.size === 0) this.allClosed?.();
  }

  reload(config: RouterConfig): string[] {
    const unapplied = unappliedChanges(this.config, config);
    for (const path of unapplied) this.logger.warn('config.not_applied', { setting: path, reason: 'needs a restart; the running value stays' });
    warnPermissionFindings(config, this.logger);
    this.listeners.forEach((listener, i) => {
      const next = config.listeners[i];
      if (next) listener.reconfigure?.(next);
    });
    for (const realmConfig of config.realms) {
      const realm = this.realms.get(realmConfig.name);
      if (realm) realm.reconfigure(realmConfig);
      else this.realms.set(realmConfig.name, new Realm(realmConfig, this.limits, this.logger, this.realmExtensions(realmConfig.name)));
    }
    for (const realm of this.realms.values()) {
      this.instrument(realm);
      this.cluster?.attach(realm).catch((error: unknown) => this.logger.error('cluster.attach_failed', { realm: realm.name, error: String(error) }));
    }
    const kept = new Set(config.realms.map((r) => r.name));
    for (const [name, realm] of this.realms) {
      if (kept.has(name)) continue;
      this.realms.delete(name);
      this.cluster?.detach(realm);
      for (const session of [...realm.sessions.values()]) session.goodbye(CloseUri.closeRealm, 'realm removed');
      realm.close();
    }
    return unapplied;
  }

  close(reason: string = CloseUri.systemShutdown): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason: string): Promise<void> {
    const stopped = Promise.all([...this.listeners, ...this.attached].map((l) => l.stopAccepting()));
    const drained = new Promise<void>((resolve) => {
      this.allClosed = resolve;
      if (this.sessions.size === 0) resolve();
    });
    for (const session of [...this.sessions]) session.goodbye(reason, 'router is shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.limits.closeHandshakeTimeoutMs); });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    for (const listener of [...this.listeners, ...this.attached]) listener.terminateAll();
    for (const realm of this.realms.values()) realm.close();
    await stopped;
    await this.cluster?.stop();
    // Last, so /healthz answers 503 for the whole drain.
    await this.ops?.close();
    this.logger.info('router.stopped', { reason });
  }
}
