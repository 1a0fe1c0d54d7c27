import { Realm } from '../realms/realm.js';
import type { RouterConfig } from './config.js';
import type { Limits } from './limits.js';
import { silentLogger, type Logger } from './log.js';
import { CloseUri } from './protocol/errors.js';
import { randomId } from './protocol/ids.js';
import { Session, type SessionHost } from './session.js';
import { WebSocketListener, type ListeningAddress, type WebSocketTransport } from './transport/websocket.js';

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
  /**
   * Apply a new config without dropping sessions that are still allowed: realms are added,
   * reconfigured or removed; listeners and limits need a restart and are left as they are.
   */
  reload(config: RouterConfig): void;
}

export type { ListeningAddress };

export function createRouter(config: RouterConfig, options: RouterOptions = {}): Router {
  return new SwitchyardRouter(config, options.logger ?? silentLogger);
}

class SwitchyardRouter implements Router, SessionHost {
  readonly realms = new Map<string, Realm>();
  readonly limits: Limits;
  private readonly listeners: WebSocketListener[];
  private readonly sessions = new Set<Session>();
  private readonly liveIds = new Set<number>();
  private closing: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;

  constructor(config: RouterConfig, readonly logger: Logger) {
    this.limits = config.limits;
    for (const realm of config.realms) this.realms.set(realm.name, new Realm(realm, this.limits, logger));
    this.listeners = config.listeners.map((listener) => new WebSocketListener(listener, this.limits, logger, {
      accept: (transport: WebSocketTransport) => this.accept(transport),
    }));
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  async listen(): Promise<ListeningAddress[]> {
    const addresses: ListeningAddress[] = [];
    for (const listener of this.listeners) addresses.push(await listener.listen());
    return addresses;
  }

  private accept(transport: WebSocketTransport): Session {
    const session = new Session(transport, this);
    this.sessions.add(session);
    if (this.closing) session.abort(CloseUri.systemShutdown, 'router is shutting down');
    return session;
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

  sessionClosed(session: Session): void {
    this.sessions.delete(session);
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
