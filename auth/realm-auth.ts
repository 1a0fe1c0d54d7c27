import type { AuthConfig, DynamicMethod } from '../router/config.js';
import type { Dealer } from '../router/dealer.js';
import type { Limits } from '../router/limits.js';
import type { Logger } from '../router/log.js';
import { isDict } from '../router/protocol/decode.js';
import { ErrorUri, WampError } from '../router/protocol/errors.js';
import type { Dict } from '../router/protocol/messages.js';
import { AnonymousAuthenticator } from './anonymous.js';
import type { Authenticator, HelloContext } from './authenticator.js';
import type { CraUser, CredentialRef, CryptosignUser, TicketUser } from './credentials.js';
import { constantTimeEqual, deriveKey, fingerprint, isEd25519PublicKeyHex, keyedSalt } from './crypto.js';
import { CryptosignAuthenticator, type CryptosignVerdict } from './cryptosign.js';
import { LoginGuard } from './guard.js';
import { IssuedCredentials } from './issued.js';
import { Revocations, tick } from './revocations.js';
import { TicketAuthenticator, type TicketVerdict } from './ticket.js';
import { hasStaticSecrets, realmShapes, UnknownAuthids, unknownAuthidKey } from './unknown-authid.js';
import type { AuthJournal } from './auth-journal.js';
import { WampCraAuthenticator } from './wampcra.js';

/**
 * A realm's authentication, built from `realms[].auth`: the static users of each method, the
 * issued credentials, the dynamic authenticator procedure, and the check that tells whether a
 * live session's credential is still good (expiry, revocation, ban, removal by a config reload).
 */

export const ISSUE_PROCEDURE = 'switchyard.auth.issue';
export const REVOKE_PROCEDURE = 'switchyard.auth.revoke';
export const BAN_PROCEDURE = 'switchyard.auth.ban';
export const UNBAN_PROCEDURE = 'switchyard.auth.unban';
/** The error of `switchyard.auth.issue` for a banned authid. */
export const BANNED_ERROR = 'switchyard.error.authid_banned';

/**
 * What a realm's authentication keeps across config reloads: lockouts, issued credentials,
 * revocations and bans, and the key behind the challenges of unknown authids (fixed at the first
 * load, so a reload does not re-draw them while real users' salts stay).
 */
export class RealmAuthState {
  readonly guard: LoginGuard;
  readonly issued: IssuedCredentials;
  readonly revocations = new Revocations();
  /** Behind unknown authids' challenges and issued salts; a cluster may replace a random one with the cluster's. */
  unknownKey: Buffer;
  /** True when the key is random (the realm has no static secrets to derive it from). */
  readonly unknownKeyIsRandom: boolean;
  /** Where runtime changes go (router/cluster/auth-link.ts); undefined on a single node. */
  journal: AuthJournal | undefined;

  constructor(realm: string, auth: AuthConfig, limits: Limits) {
    this.guard = new LoginGuard(limits);
    this.unknownKey = unknownAuthidKey(realm, auth);
    this.unknownKeyIsRandom = !hasStaticSecrets(auth);
    this.issued = new IssuedCredentials((authid) => keyedSalt(this.unknownKey, authid));
  }
}

type Alive<T> = { user: T } | { cause: 'revoked' | 'banned' };

export class RealmAuth {
  readonly authenticators = new Map<string, Authenticator>();
  private readonly craUsers = new Map<string, CraUser>();
  private readonly ticketUsers = new Map<string, TicketUser>();
  private readonly cryptosignUsers = new Map<string, CryptosignUser>();
  /** Static credentials count as minted when the config that holds them is loaded. */
  private readonly loadedAt = tick();
  /**
   * Fingerprints of static users, per method and authid, hashed on first use: every join (and
   * every re-verification) asks, and this config never changes them (a reload builds a new RealmAuth).
   */
  private readonly staticPrints = new Map<string, string[]>();

  constructor(
    private readonly realm: string,
    private readonly config: AuthConfig,
    private readonly limits: Limits,
    private readonly logger: Logger,
    private readonly dealer: Dealer,
    /** Owned by the realm, so it survives a config reload. */
    private readonly state: RealmAuthState,
  ) {
    this.loadStaticUsers();
    this.buildAuthenticators();
  }

  get issued(): IssuedCredentials {
    return this.state.issued;
  }

  /** True while the credential a session joined with is still valid. */
  isStillValid(credential: CredentialRef | undefined, authmethod: string): boolean {
    if (!credential) return authmethod === 'anonymous' ? this.config.anonymous !== undefined : true;
    if (this.state.revocations.deadCause(credential.authid, credential.mintedAt)) return false;
    if (credential.expiresAt !== undefined && credential.expiresAt <= Date.now()) return false;
    switch (credential.source) {
      case 'issued': return this.issued.isLive(credential.authid, credential.credentialId ?? '');
      // Dynamic principals are vouched for by the procedure at login; a reload that drops the
      // method from `dynamic.methods` ends them.
      case 'dynamic': return this.dynamicMethods().has(credential.method as DynamicMethod);
      case 'static': return this.staticFingerprints(credential.method, credential.authid).includes(credential.fingerprint ?? '');
    }
  }

  /** "Log out everywhere": what `authid` holds now dies, credentials issued later work. */
  revokeAuthid(authid: string): number {
    const notBefore = this.state.revocations.revoke(authid);
    this.state.journal?.record({ kind: 'revoked', authid, notBefore });
    return this.issued.revokeAuthid(authid);
  }

  /** Refuse `authid` whatever its credentials until `unban`; returns how many issued credentials died. */
  banAuthid(authid: string): number {
    const notBefore = this.state.revocations.ban(authid);
    this.state.journal?.record({ kind: 'banned', authid, notBefore });
    return this.issued.revokeAuthid(authid);
  }

  unbanAuthid(authid: string): boolean {
    const wasBanned = this.state.revocations.unban(authid);
    this.state.journal?.record({ kind: 'unbanned', authid });
    return wasBanned;
  }

  isBanned(authid: string): boolean {
    return this.state.revocations.isBanned(authid);
  }

  private alive<T extends { authid: string; mintedAt?: number }>(user: T): Alive<T> {
    const cause = this.state.revocations.deadCause(user.authid, user.mintedAt);
    return cause ? { cause } : { user };
  }

  /** What a still-valid static credential of this user may look like: a rotated secret or key ends old sessions. */
  private staticFingerprints(method: string, authid: string): string[] {
    const key = `${method}\u0000${authid}`;
    let prints = this.staticPrints.get(key);
    if (prints === undefined) {
      prints = this.hashStaticFingerprints(method, authid);
      // Only configured users are kept, so the cache is bounded by the config.
      if (prints.length > 0) this.staticPrints.set(key, prints);
    }
    return prints;
  }

  private hashStaticFingerprints(method: string, authid: string): string[] {
    if (method === 'wampcra') return this.craUsers.has(authid) ? [fingerprint(this.craUsers.get(authid)!.key)] : [];
    if (method === 'ticket') return this.ticketUsers.has(authid) ? [fingerprint(this.ticketUsers.get(authid)!.ticket)] : [];
    if (method === 'cryptosign') return this.cryptosignUsers.get(authid)?.pubkeys.map(fingerprint) ?? [];
    return [];
  }

  private loadStaticUsers(): void {
    for (const [authid, user] of Object.entries(this.config.wampcra?.users ?? {})) {
      let key = user.key ?? user.secret!;
      if (user.secret !== undefined && user.salt !== undefined) {
        // Derived once here, never per login; the config should hold the key instead.
        key = deriveKey(user.secret, user.salt, user.iterations, user.keylen);
        this.logger.warn('config.plain_secret_with_salt', {
          realm: this.realm, authid, hint: 'store the PBKDF2 key instead: switchyard derive-key --salt SALT --iterations N (in a clone: node dist/router/cli.js derive-key ...)',
        });
      }
      this.craUsers.set(authid, {
        authid, role: user.role, key, source: 'static', extra: user.extra, mintedAt: this.loadedAt,
        salted: user.salt !== undefined ? { salt: user.salt, iterations: user.iterations, keylen: user.keylen } : undefined,
      });
    }
    for (const [authid, user] of Object.entries(this.config.ticket?.users ?? {})) {
      this.ticketUsers.set(authid, { authid, role: user.role, ticket: user.ticket, extra: user.extra, mintedAt: this.loadedAt });
    }
    for (const [authid, user] of Object.entries(this.config.cryptosign?.users ?? {})) {
      this.cryptosignUsers.set(authid, {
        authid, role: user.role, pubkeys: user.pubkeys.map((k) => k.toLowerCase()), extra: user.extra, mintedAt: this.loadedAt,
      });
    }
  }

  private dynamicMethods(): Set<DynamicMethod> {
    return new Set(this.config.dynamic?.methods ?? []);
  }

  private buildAuthenticators(): void {
    const { anonymous, ticket, wampcra, cryptosign } = this.config;
    const dynamic = this.dynamicMethods();
    if (anonymous) this.add(new AnonymousAuthenticator(anonymous.role));
    if (wampcra || dynamic.has('wampcra')) this.add(this.wampcraAuthenticator(dynamic.has('wampcra')));
    if (ticket || dynamic.has('ticket')) {
      this.add(new TicketAuthenticator((a, t, c) => this.checkTicket(a, t, c, dynamic.has('ticket')), this.state.guard, dynamic.has('ticket') && !ticket ? 'dynamic' : 'static'));
    }
    if (cryptosign || dynamic.has('cryptosign')) {
      this.add(new CryptosignAuthenticator((a, k, c) => this.findCryptosign(a, k, c, dynamic.has('cryptosign')), this.state.guard, 'static'));
    }
  }

  private add(authenticator: Authenticator): void {
    this.authenticators.set(authenticator.authmethod, authenticator);
  }

  private wampcraAuthenticator(dynamic: boolean): WampCraAuthenticator {
    const staticSalts = [...this.craUsers.values()].map((u) => u.salted);
    return new WampCraAuthenticator({
      lookup: (authid, context) => this.findCra(authid, context, dynamic),
      guard: this.state.guard,
      unknown: new UnknownAuthids(this.state.unknownKey, realmShapes(staticSalts, this.config.wampcra?.issue !== undefined, dynamic)),
      deadCause: (user) => this.state.revocations.deadCause(user.authid, user.mintedAt),
      banned: (authid) => this.isBanned(authid),
    });
  }

  /** Configured and issued users at once; the dynamic authenticator (asked only for other authids) later. */
  private findCra(authid: string, context: HelloContext, dynamic: boolean): CraUser[] | Promise<CraUser[]> {
    const fixed = this.craUsers.get(authid);
    if (fixed) return [fixed];
    const issued = this.issued.lookup(authid);
    if (issued.length > 0 || !dynamic) return issued;
    return this.findDynamicCra(authid, context);
  }

  private async findDynamicCra(authid: string, context: HelloContext): Promise<CraUser[]> {
    const answer = await this.askDynamic('wampcra', authid, context);
    const role = answer.role;
    let key = typeof answer.key === 'string' ? answer.key : typeof answer.secret === 'string' ? answer.secret : undefined;
    if (typeof role !== 'string' || key === undefined) return [];
    const salt = typeof answer.salt === 'string' ? answer.salt : undefined;
    const iterations = Number.isSafeInteger(answer.iterations) ? answer.iterations as number : 1000;
    const keylen = Number.isSafeInteger(answer.keylen) ? answer.keylen as number : 32;
    if (salt !== undefined && typeof answer.key !== 'string') key = deriveKey(key, salt, iterations, keylen);
    return [{
      authid, role, key, source: 'dynamic', extra: isDict(answer.extra) ? answer.extra : undefined, mintedAt: tick(),
      salted: salt !== undefined ? { salt, iterations, keylen } : undefined,
    }];
  }

  private async checkTicket(authid: string, ticket: string, context: HelloContext, dynamic: boolean): Promise<TicketVerdict> {
    const user = this.ticketUsers.get(authid);
    if (user) return constantTimeEqual(user.ticket, ticket) ? this.alive(user) : { cause: 'bad_ticket' };
    if (!dynamic) {
      constantTimeEqual(ticket, ticket); // same work for unknown authids as for wrong tickets
      return { cause: 'unknown_authid' };
    }
    const answer = await this.askDynamic('ticket', authid, context, { ticket });
    if (typeof answer.role !== 'string') return { cause: 'dynamic_failed', detail: 'the authenticator returned no role' };
    return this.alive({ authid, role: answer.role, ticket: '', extra: isDict(answer.extra) ? answer.extra : undefined, mintedAt: tick() });
  }

  private async findCryptosign(authid: string | undefined, pubkey: string, context: HelloContext, dynamic: boolean): Promise<CryptosignVerdict> {
    const owns = (u: CryptosignUser) => u.pubkeys.includes(pubkey);
    let user = authid !== undefined ? this.cryptosignUsers.get(authid) : [...this.cryptosignUsers.values()].find(owns);
    if (user && !owns(user)) user = undefined;
    if (user) return this.alive(user);
    if (!dynamic || authid === undefined) return { cause: 'unknown_authid' };
    const answer = await this.askDynamic('cryptosign', authid, context);
    const pubkeys = Array.isArray(answer.pubkeys) ? answer.pubkeys.filter(isEd25519PublicKeyHex).map((k) => k.toLowerCase()) : [];
    if (typeof answer.role !== 'string' || !pubkeys.includes(pubkey)) return { cause: 'unknown_authid' };
    return this.alive({ authid, role: answer.role, pubkeys, extra: isDict(answer.extra) ? answer.extra : undefined, mintedAt: tick() });
  }

  /**
   * Call the dynamic authenticator: `(realm, authid, details)` → a dict (or a role string).
   * Any failure (no such procedure, an error, a timeout) refuses the login; the session logs it
   * as `dynamic_failed` with the error's URI or message.
   */
  private async askDynamic(authmethod: DynamicMethod, authid: string, context: HelloContext, more: Dict = {}): Promise<Dict> {
    const procedure = this.config.dynamic!.procedure;
    const details: Dict = {
      session: context.sessionId, authmethod, authid, authrole: context.authrole, authextra: context.authextra,
      transport: { type: context.transport.type, peer: context.transport.peer }, ...more,
    };
    try {
      const result = await this.dealer.callInternal(procedure, [this.realm, authid, details], {}, this.limits.authTimeoutMs);
      const first = result.args?.[0] ?? result.kwargs;
      if (typeof first === 'string') return { role: first };
      if (isDict(first)) return first;
      throw new WampError(ErrorUri.authenticationFailed, 'authenticator returned no principal');
    } catch (error) {
      throw new Error(`${procedure}: ${error instanceof WampError ? error.uri : (error as Error)?.message}`);
    }
  }
}
