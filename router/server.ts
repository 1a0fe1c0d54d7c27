import { Realm } from '../realms/realm.js';
import type { RouterConfig } from './config.js';
import type { Limits } from './limits.js';
import { silentLogger, type Logger } from './log.js';
import { CloseUri } from './protocol/errors.js';
import { randomId } from './protocol/ids.js';
import { Session, type SessionHost } from './session.js';
import type { Transport } from './transport/transport.js';
import type { ConnectionHandler, Listener } from './transport/listener.js';
import { HttpBridgeListener } from './transport/http-bridge.js';
import { RawSocketListener } from './transport/rawsocket.js';
import { WebSocketListener, type ListeningAddress } from './transport/websocket.js';

/**
 * The composition root: realms from a validated config, listeners, sessions, graceful stop.
 * Every session, authenticated or not, is tracked so that shutdown reaches all of them.
 */

export interface RouterOptions {
  logger?: Logger;
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
   * reconfigured or removed; listeners and limits need a restart and are left as they are.
   */
  reload(config: RouterConfig): void;
}

export type { ListeningAddress };

export interface RouterStats {
  closes: Record<string, number>;
}

export function createRouter(config: RouterConfig, options: RouterOptions = {}): Router {
  return new SwitchyardRouter(config, options.logger ?? silentLogger);
}

class SwitchyardRouter implements Router, SessionHost {
  readonly realms = new Map<string, Realm>();
  readonly limits: Limits;
  private readonly listeners: Listener[];
  private readonly sessions = new Set<Session>();
  private readonly liveIds = new Set<number>();
  private readonly perAddress = new Map<string, number>();
  private readonly everJoined = new Set<Session>();
  private unauthenticated = 0;
  readonly stats: RouterStats = { closes: {} };
  private closing: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;

  constructor(config: RouterConfig, readonly logger: Logger) {
    this.limits = config.limits;
    for (const realm of config.realms) this.realms.set(realm.name, new Realm(realm, this.limits, logger));
    const handler: ConnectionHandler = {
      admit: (remoteAddress) => this.admit(remoteAddress),
      accept: (transport) => this.accept(transport),
    };
    this.listeners = config.listeners.map((listener) => listener.type === 'rawsocket'
      ? new RawSocketListener(listener, this.limits, logger, handler)
      : listener.type === 'http'
        ? new HttpBridgeListener(listener, this.limits, logger, { realms: this.realms, admit: (address) => this.admit(address) })
        : new WebSocketListener(listener, this.limits, logger, handler));
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  async listen(): Promise<ListeningAddress[]> {
    const addresses: ListeningAddress[] = [];
    for (const listener of this.listeners) addresses.push(await listener.listen());
    return addresses;
  }

  /**
   * Connection caps (reliability §2.12 item 7): total, per remote address, and not yet
   * authenticated, which bounds what an unauthenticated crowd can make the router hold.
   */
  admit(remoteAddress: string): boolean {
    if (this.closing) return false;
    if (this.sessions.size >= this.limits.maxConnections) return false;
    if (this.unauthenticated >= this.limits.maxUnauthenticatedConnections) return false;
    return (this.perAddress.get(remoteAddress) ?? 0) < this.limits.maxConnectionsPerIp;
  }

  private accept(transport: Transport): Session {
    const session = new Session(transport, this);
    this.sessions.add(session);
    this.unauthenticated++;
    const address = transport.info.remoteAddress;
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    return session;
  }

  sessionJoined(session: Session): void {
    if (this.everJoined.has(session)) return;
    this.everJoined.add(session);
    this.unauthenticated--;
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
    if (!this.everJoined.delete(session)) this.unauthenticated--;
    const address = session.transport.info.remoteAddress;
    const count = (this.perAddress.get(address) ?? 1) - 1;
    if (count === 0) this.perAddress.delete(address);
    else this.perAddress.set(address, count);
    this.stats.closes[reason] = (this.stats.closes[reason] ?? 0) + 1;
    if (this.sessions.size === 0) this.allClosed?.();
  }

  reload(config: RouterConfig): void {
    for (const realmConfig of config.realms) {
      const realm = this.realms.get(realmConfig.name);
      if (realm) realm.reconfigure(realmConfig);
      else this.realms.set(realmConfig.name, new Realm(realmConfig, this.limits, this.logger));
    }
    const kept = new Set(config.realms.map((r) => r.name));
    for (const [name, realm] of this.realms) {
      if (kept.has(name)) continue;
      this.realms.delete(name);
      for (const session of [...realm.sessions.values()]) session.goodbye(CloseUri.closeRealm, 'realm removed');
      realm.close();
    }
  }

  close(reason: string = CloseUri.systemShutdown): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason: string): Promise<void> {
    const stopped = Promise.all(this.listeners.map((l) => l.stopAccepting()));
    const drained = new Promise<void>((resolve) => {
      this.allClosed = resolve;
      if (this.sessions.size === 0) resolve();
    });
    for (const session of [...this.sessions]) session.goodbye(reason, 'router is shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.limits.closeHandshakeTimeoutMs); });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    for (const listener of this.listeners) listener.terminateAll();
    for (const realm of this.realms.values()) realm.close();
    await stopped;
    this.logger.info('router.stopped', { reason });
  }
}
