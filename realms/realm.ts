import type { Authenticator } from '../auth/authenticator.js';
import { AnonymousAuthenticator } from '../auth/anonymous.js';
import { Broker } from '../router/broker.js';
import type { RealmConfig } from '../router/config.js';
import { Dealer } from '../router/dealer.js';
import type { Limits } from '../router/limits.js';
import type { Session } from '../router/session.js';
import { RoleAuthorizer, type Authorizer } from './authorizer.js';
import { RolePermissions } from './permissions.js';

/**
 * One realm: its sessions, its broker and dealer, and the authenticators and roles its config
 * names. Realms exist only if configured; a HELLO to any other realm is refused.
 */
export class Realm {
  readonly name: string;
  readonly sessions = new Map<number, Session>();
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly authorizer: Authorizer;
  private readonly roles: Map<string, RolePermissions>;
  private readonly authenticators = new Map<string, Authenticator>();

  constructor(config: RealmConfig, limits: Limits) {
    this.name = config.name;
    this.roles = new Map(config.roles.map((role) => [role.name, new RolePermissions(role.permissions)]));
    this.authorizer = new RoleAuthorizer(this.roles);
    this.broker = new Broker(this.authorizer, limits);
    this.dealer = new Dealer(this.authorizer, limits);
    if (config.auth.anonymous) this.addAuthenticator(new AnonymousAuthenticator(config.auth.anonymous.role));
  }

  addAuthenticator(authenticator: Authenticator): void {
    this.authenticators.set(authenticator.authmethod, authenticator);
  }

  /** The first of the client's methods, in the client's order, that this realm configures. */
  selectAuthenticator(methods: readonly string[]): Authenticator | undefined {
    for (const method of methods) {
      const authenticator = this.authenticators.get(method);
      if (authenticator) return authenticator;
    }
    return undefined;
  }

  hasRole(name: string): boolean {
    return this.roles.has(name);
  }

  join(session: Session): void {
    this.sessions.set(session.id, session);
  }

  leave(session: Session): void {
    this.dealer.detach(session);
    this.broker.detach(session);
    this.sessions.delete(session.id);
  }
}
