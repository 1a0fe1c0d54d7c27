import type { Authenticator } from '../auth/authenticator.js';
import type { IssuedCredentials } from '../auth/issued.js';
import {
  BAN_PROCEDURE, BANNED_ERROR, ISSUE_PROCEDURE, RealmAuth, RealmAuthState, REVOKE_PROCEDURE, UNBAN_PROCEDURE,
} from '../auth/realm-auth.js';
import { Broker } from '../router/broker.js';
import type { HttpKeyConfig, RealmConfig } from '../router/config.js';
import { Dealer } from '../router/dealer.js';
import type { Limits } from '../router/limits.js';
import { then } from '../router/maybe-async.js';
import type { RateSettings } from '../router/rate-limit.js';
import { silentLogger, type Logger } from '../router/log.js';
import { CloseUri, ErrorUri, WampError } from '../router/protocol/errors.js';
import type { Dict } from '../router/protocol/messages.js';
import type { Session, SessionRealm } from '../router/session.js';
import { LayeredAuthorizer, RealmAuthorizer, type AppAuthorizer, type Authorizer } from './authorizer.js';
import { installRegistrationMeta } from './meta/registration-meta.js';
import { SessionMeta, type MetaRealm, type SessionDetailsShown } from './meta/session-meta.js';
import { installSubscriptionMeta } from './meta/subscription-meta.js';
import { MetaVisibility } from './meta/visibility.js';
import { RefusalLog } from './refusals.js';
import { RolePermissions } from './permissions.js';

const SHOW_NOTHING: SessionDetailsShown = Object.freeze({ authextra: false, transport: false });

/** What an embedding application adds to a realm in code (`createRouter(config, {authenticators, authorizers})`). */
export interface RealmExtensions {
  authenticators?: readonly Authenticator[];
  authorizer?: AppAuthorizer;
}

/**
 * One realm: its sessions, its broker and dealer, and the authentication and roles its config
 * names. Realms exist only if configured; a HELLO to any other realm is refused. A config reload
 * swaps roles and authentication in place and closes the sessions whose credential is gone.
 */
export class Realm implements SessionRealm, MetaRealm {
  readonly name: string;
  readonly sessions = new Map<number, Session>();
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly issued: IssuedCredentials;
  private readonly authState: RealmAuthState;
  private roles = new Map<string, RolePermissions>();
  /** Per role: which details of other sessions the session meta API shows it. */
  private shown = new Map<string, SessionDetailsShown>();
  private auth!: RealmAuth;
  private config!: RealmConfig;
  readonly authorizer: RealmAuthorizer;
  /** What routing asks: the application's authorizer (if any) in front of `authorizer`. */
  readonly decider: Authorizer;
  /** Messages and log lines of refused actions (issue 14.3). */
  readonly refusals: RefusalLog;
  /** The session meta API and testaments; the cluster link answers other nodes through it. */
  readonly meta: SessionMeta;
  private reverifyTimer: NodeJS.Timeout | undefined;
  private readonly expiryTimers = new Map<Session, NodeJS.Timeout>();

  constructor(
    config: RealmConfig, private readonly limits: Limits, private readonly logger: Logger = silentLogger,
    private readonly extensions: RealmExtensions = {},
  ) {
    this.name = config.name;
    this.authState = new RealmAuthState(config.name, config.auth, limits);
    this.issued = this.authState.issued;
    this.authorizer = new RealmAuthorizer(() => this.roles, () => this.config.authorizer && {
      ...this.config.authorizer, realm: this.name, logger: this.logger,
      call: (procedure, args, kwargs, timeoutMs) => this.dealer.callInternal(procedure, args, kwargs, timeoutMs),
    });
    this.decider = extensions.authorizer ? new LayeredAuthorizer(extensions.authorizer, this.authorizer) : this.authorizer;
    this.broker = new Broker(this.decider, limits);
    this.dealer = new Dealer(this.decider, limits);
    this.refusals = new RefusalLog(
      config.name, logger,
      (principal, uri, action, decision) => this.decider.explain?.(principal, uri, action, decision) ?? { decidedBy: 'no rule matched' },
      (principal) => this.sessions.get(principal.id) === principal,
    );
    this.broker.refusals = this.refusals;
    this.dealer.refusals = this.refusals;
    this.meta = new SessionMeta(this, this.dealer);
    const visibility = new MetaVisibility(this.decider, this.broker);
    installRegistrationMeta(this.dealer, visibility);
    installSubscriptionMeta(this.broker, this.dealer, visibility);
    this.dealer.provide(ISSUE_PROCEDURE, (_caller, args, kwargs) => this.issueCredential(args, kwargs));
    this.dealer.provide(REVOKE_PROCEDURE, (_caller, args, kwargs) => this.revoke(args, kwargs));
    this.dealer.provide(BAN_PROCEDURE, (_caller, args, kwargs) => this.ban(args, kwargs, true));
    this.dealer.provide(UNBAN_PROCEDURE, (_caller, args, kwargs) => this.ban(args, kwargs, false));
    this.reconfigure(config);
  }

  /** Apply a (re)loaded config: new roles and authentication; sessions no longer valid are closed. */
  reconfigure(config: RealmConfig): void {
    const reloading = this.config !== undefined;
    this.config = config;
    this.roles = new Map(config.roles.map((role) => [role.name, new RolePermissions(role.permissions)]));
    this.shown = new Map(config.roles.map((role) => [role.name, Object.freeze({
      authextra: role.meta?.authextra === true, transport: role.meta?.transport === true,
    })]));
    this.authorizer.clear();
    this.auth = new RealmAuth(this.name, config.auth, this.limits, this.logger, this.dealer, this.authState);
    if (this.reverifyTimer) clearInterval(this.reverifyTimer);
    this.reverifyTimer = setInterval(() => this.reverify(), config.reverifyIntervalMs);
    this.reverifyTimer.unref();
    this.reverify();
    if (reloading) this.revokeDisallowed();
  }

  /**
   * After a reload, subscriptions and registrations the new roles no longer allow are revoked;
   * sessions that are still allowed keep everything (issue: permissions change at runtime).
   * Where only the dynamic authorizer can tell, its answer is awaited.
   */
  private revokeDisallowed(): void {
    for (const [session, subscription] of this.broker.subscriberPairs()) {
      const outcome = then(this.decider.decide(session, subscription.uri, 'subscribe'), (decision) => {
        if (!decision.allow) this.broker.revoke(session, subscription, 'permission withdrawn');
      });
      if (outcome instanceof Promise) this.broker.recheckWhile(subscription, outcome);
    }
    for (const callee of this.dealer.calleeList()) {
      then(this.decider.decide(callee.session, callee.registration.uri, 'register'), (decision) => {
        if (!decision.allow) this.dealer.revoke(callee, 'permission withdrawn');
      });
    }
  }

  /** The first of the client's methods, in the client's order, that this realm configures. */
  selectAuthenticator(methods: readonly string[]): Authenticator | undefined {
    for (const method of methods) {
      // The application's authenticator for a method replaces the configured one.
      const authenticator = this.extensions.authenticators?.find((a) => a.authmethod === method) ?? this.auth.authenticators.get(method);
      if (authenticator) return authenticator;
    }
    return undefined;
  }

  /** A key of the HTTP bridge on this realm, from the current config (a reload rotates keys). */
  httpKey(keyId: string): HttpKeyConfig | undefined {
    const keys = this.config.http?.keys;
    return keys && Object.hasOwn(keys, keyId) ? keys[keyId] : undefined;
  }

  /** What the session meta API shows `authrole` of other sessions (its `meta` setting; nothing extra by default). */
  detailsShownTo(authrole: string): SessionDetailsShown {
    return this.shown.get(authrole) ?? SHOW_NOTHING;
  }

  hasRole(name: string): boolean {
    return this.roles.has(name);
  }

  /** The role's own inbound rate, where its config sets one (missing fields from `limits`). */
  rateFor(authrole: string): RateSettings | undefined {
    const rate = this.config.roles.find((role) => role.name === authrole)?.rate;
    if (!rate) return undefined;
    return {
      messagesPerSecond: rate.messagesPerSecond ?? this.limits.rateMessagesPerSecond,
      burst: rate.burst ?? this.limits.rateBurst,
      bytesPerSecond: rate.bytesPerSecond ?? this.limits.rateBytesPerSecond,
    };
  }

  /** Whether a session (joined or about to be) still holds a valid credential. */
  credentialValid(session: Pick<Session, 'credential' | 'authmethod'>): boolean {
    return this.auth.isStillValid(session.credential, session.authmethod);
  }

  join(session: Session): void {
    this.sessions.set(session.id, session);
    this.meta.joined(session);
    const expiresAt = session.credential?.expiresAt;
    if (expiresAt !== undefined) {
      const timer = setTimeout(() => this.end(session, 'credential expired'), Math.max(0, expiresAt - Date.now()));
      timer.unref();
      this.expiryTimers.set(session, timer);
    }
  }

  leave(session: Session): void {
    this.dealer.detach(session);
    this.broker.detach(session);
    this.sessions.delete(session.id);
    this.meta.left(session);
    this.refusals.forget(session);
    const timer = this.expiryTimers.get(session);
    if (timer) clearTimeout(timer);
    this.expiryTimers.delete(session);
  }

  /**
   * WAMP cannot challenge a joined session again, so the router checks each credential itself:
   * expired, revoked or no longer configured ends the session with GOODBYE `wamp.close.revoked`.
   */
  reverify(): number {
    let closed = 0;
    for (const session of [...this.sessions.values()]) {
      if (!this.credentialValid(session)) {
        this.end(session, 'credential no longer valid');
        closed++;
      }
    }
    return closed;
  }

  /** Stop timers; sessions are closed by the router. */
  close(): void {
    if (this.reverifyTimer) clearInterval(this.reverifyTimer);
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
  }

  private end(session: Session, message: string): void {
    this.logger.info('session.revoked', { session: session.id, realm: this.name, authid: session.authid, message });
    session.goodbye(CloseUri.revoked, message);
  }

  /**
   * `switchyard.auth.issue(authid, role, lifetimeMs?)` or the same as kwargs. In a cluster the
   * answer waits until every live node knows the credential, so it logs in on any node at once.
   */
  private async issueCredential(args: unknown[], kwargs: Dict) {
    const settings = this.config.auth.wampcra?.issue;
    if (!settings) throw new WampError(ErrorUri.noSuchProcedure, 'issuing credentials is not enabled on this realm');
    const authid = kwargs.authid ?? args[0];
    const role = kwargs.role ?? args[1];
    const lifetimeMs = kwargs.lifetimeMs ?? args[2] ?? settings.lifetimeMs;
    if (typeof authid !== 'string' || authid.length === 0 || authid.length > 255) throw new WampError(ErrorUri.invalidArgument, 'authid must be a non-empty string');
    if (typeof role !== 'string' || !settings.roles.includes(role)) throw new WampError(ErrorUri.invalidArgument, 'role is not one the realm may issue');
    if (!Number.isSafeInteger(lifetimeMs) || (lifetimeMs as number) < 1000 || (lifetimeMs as number) > settings.lifetimeMs) {
      throw new WampError(ErrorUri.invalidArgument, `lifetimeMs must be between 1000 and ${settings.lifetimeMs}`);
    }
    if (this.config.auth.wampcra?.users[authid]) throw new WampError(ErrorUri.invalidArgument, 'authid belongs to a configured user');
    if (this.auth.isBanned(authid)) throw new WampError(BANNED_ERROR, `authid ${authid} is banned (switchyard.auth.unban lifts it)`);
    const credential = this.issued.issue(authid, role, lifetimeMs as number);
    const record = this.issued.record(authid, credential.credentialId);
    if (record) this.authState.journal?.record({ kind: 'issued', record });
    await this.authState.journal?.settle();
    this.logger.info('auth.issued', { realm: this.name, authid, role, credentialId: credential.credentialId });
    return {
      kwargs: {
        authid, role, secret: credential.secret, salt: credential.salt, iterations: credential.iterations,
        keylen: credential.keylen, credential: credential.credentialId, expires: new Date(credential.expiresAt).toISOString(),
      },
    };
  }

  /**
   * `switchyard.auth.revoke({authid})` revokes a user; `({credential})` one issued credential. In a
   * cluster the answer waits for every live node, and `sessions` counts what they closed too.
   */
  private async revoke(args: unknown[], kwargs: Dict) {
    const authid = kwargs.authid ?? (kwargs.credential === undefined ? args[0] : undefined);
    const credential = kwargs.credential;
    let credentials = 0;
    if (typeof authid === 'string') credentials = this.auth.revokeAuthid(authid);
    else if (typeof credential === 'string') credentials = this.revokeCredential(credential);
    else throw new WampError(ErrorUri.invalidArgument, 'give authid or credential');
    const sessions = this.reverify() + ((await this.authState.journal?.settle()) ?? 0);
    this.logger.info('auth.revoked', { realm: this.name, authid, credentialId: credential, credentials, sessions });
    return { kwargs: { credentials, sessions } };
  }

  private revokeCredential(credentialId: string): number {
    const authid = this.issued.ownerOf(credentialId);
    if (authid === undefined || !this.issued.revokeCredential(credentialId)) return 0;
    this.authState.journal?.record({ kind: 'credential_revoked', authid, credentialId });
    return 1;
  }

  /** Runtime auth state shared with other nodes (router/cluster/auth-link.ts). */
  get sharedAuthState(): RealmAuthState {
    return this.authState;
  }

  /** Rebuilds the authenticators, e.g. after the cluster replaced the key behind unknown authids' challenges. */
  rebuildAuth(): void {
    this.auth = new RealmAuth(this.name, this.config.auth, this.limits, this.logger, this.dealer, this.authState);
  }

  /** `switchyard.auth.ban({authid})` / `unban({authid})`: an explicit ban, separate from revoke (settled like revoke). */
  private async ban(args: unknown[], kwargs: Dict, ban: boolean) {
    const authid = kwargs.authid ?? args[0];
    if (typeof authid !== 'string' || authid.length === 0) throw new WampError(ErrorUri.invalidArgument, 'give authid');
    if (!ban) {
      const wasBanned = this.auth.unbanAuthid(authid);
      await this.authState.journal?.settle();
      this.logger.info('auth.unbanned', { realm: this.name, authid, wasBanned });
      return { kwargs: { banned: false, wasBanned } };
    }
    const credentials = this.auth.banAuthid(authid);
    const sessions = this.reverify() + ((await this.authState.journal?.settle()) ?? 0);
    this.logger.info('auth.banned', { realm: this.name, authid, credentials, sessions });
    return { kwargs: { banned: true, credentials, sessions } };
  }
}
