import { createHash } from 'node:crypto';
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
import { constantTimeEqual, deriveKey, fingerprint, isEd25519PublicKeyHex } from './crypto.js';
import { CryptosignAuthenticator } from './cryptosign.js';
import type { LoginGuard } from './guard.js';
import { IssuedCredentials } from './issued.js';
import { TicketAuthenticator } from './ticket.js';
import { WampCraAuthenticator } from './wampcra.js';

/**
 * A realm's authentication, built from `realms[].auth`: the static users of each method, the
 * issued credentials, the dynamic authenticator procedure, and the check that tells whether a
 * live session's credential is still good (expiry, revocation, removal by a config reload).
 */

export const ISSUE_PROCEDURE = 'switchyard.auth.issue';
export const REVOKE_PROCEDURE = 'switchyard.auth.revoke';

export class RealmAuth {
  readonly authenticators = new Map<string, Authenticator>();
  private readonly craUsers = new Map<string, CraUser>();
  private readonly ticketUsers = new Map<string, TicketUser>();
  private readonly cryptosignUsers = new Map<string, CryptosignUser>();
  /** Authids revoked at runtime; they stay refused until a config reload. */
  private readonly revoked = new Set<string>();
  constructor(
    private readonly realm: string,
    private readonly config: AuthConfig,
    private readonly limits: Limits,
    private readonly logger: Logger,
    private readonly dealer: Dealer,
    readonly issued: IssuedCredentials,
    /** Owned by the realm, so lockouts survive a config reload. */
    private readonly guard: LoginGuard,
  ) {
    this.loadStaticUsers();
    this.buildAuthenticators();
  }

  /** True while the credential a session joined with is still valid. */
  isStillValid(credential: CredentialRef | undefined, authmethod: string): boolean {
    if (!credential) return authmethod === 'anonymous' ? this.config.anonymous !== undefined : true;
    if (this.revoked.has(credential.authid)) return false;
    if (credential.expiresAt !== undefined && credential.expiresAt <= Date.now()) return false;
    switch (credential.source) {
      case 'issued': return this.issued.isLive(credential.authid, credential.credentialId ?? '');
      // Dynamic principals are vouched for by the procedure at login; a reload that drops the
      // method from `dynamic.methods` ends them.
      case 'dynamic': return this.dynamicMethods().has(credential.method as DynamicMethod);
      case 'static': return this.staticFingerprints(credential.method, credential.authid).includes(credential.fingerprint ?? '');
    }
  }

  revokeAuthid(authid: string): number {
    this.revoked.add(authid);
    return this.issued.revokeAuthid(authid);
  }

  /** What a still-valid static credential of this user may look like: a rotated secret or key ends old sessions. */
  private staticFingerprints(method: string, authid: string): string[] {
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
          realm: this.realm, authid, hint: 'store the PBKDF2 key instead: npx switchyard derive-key --salt SALT',
        });
      }
      this.craUsers.set(authid, {
        authid, role: user.role, key, source: 'static', extra: user.extra,
        salted: user.salt !== undefined ? { salt: user.salt, iterations: user.iterations, keylen: user.keylen } : undefined,
      });
    }
    for (const [authid, user] of Object.entries(this.config.ticket?.users ?? {})) {
      this.ticketUsers.set(authid, { authid, role: user.role, ticket: user.ticket, extra: user.extra });
    }
    for (const [authid, user] of Object.entries(this.config.cryptosign?.users ?? {})) {
      this.cryptosignUsers.set(authid, { authid, role: user.role, pubkeys: user.pubkeys.map((k) => k.toLowerCase()), extra: user.extra });
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
      this.add(new TicketAuthenticator((a, t, c) => this.checkTicket(a, t, c, dynamic.has('ticket')), this.guard, dynamic.has('ticket') && !ticket ? 'dynamic' : 'static'));
    }
    if (cryptosign || dynamic.has('cryptosign')) {
      this.add(new CryptosignAuthenticator((a, k, c) => this.findCryptosign(a, k, c, dynamic.has('cryptosign')), this.guard, 'static'));
    }
  }

  private add(authenticator: Authenticator): void {
    this.authenticators.set(authenticator.authmethod, authenticator);
  }

  private wampcraAuthenticator(dynamic: boolean): WampCraAuthenticator {
    const users = [...this.craUsers.values()];
    return new WampCraAuthenticator({
      lookup: (authid, context) => this.findCra(authid, context, dynamic),
      guard: this.guard,
      // Stable across restarts with the same config, and secret because the config is.
      fakeSaltKey: createHash('sha256').update(JSON.stringify(this.config)).digest(),
      fakeRole: users[0]?.role ?? this.config.wampcra?.issue?.roles[0] ?? 'user',
      fakeSalted: users.length === 0 || users.some((u) => u.salted !== undefined),
      fakeProvider: users.length > 0 ? 'static' : this.config.wampcra?.issue ? 'issued' : dynamic ? 'dynamic' : 'static',
    });
  }

  private async findCra(authid: string, context: HelloContext, dynamic: boolean): Promise<CraUser[]> {
    if (this.revoked.has(authid)) return [];
    const fixed = this.craUsers.get(authid);
    if (fixed) return [fixed];
    const issued = this.issued.lookup(authid);
    if (issued.length > 0 || !dynamic) return issued;
    const answer = await this.askDynamic('wampcra', authid, context);
    const role = answer.role;
    let key = typeof answer.key === 'string' ? answer.key : typeof answer.secret === 'string' ? answer.secret : undefined;
    if (typeof role !== 'string' || key === undefined) return [];
    const salt = typeof answer.salt === 'string' ? answer.salt : undefined;
    const iterations = Number.isSafeInteger(answer.iterations) ? answer.iterations as number : 1000;
    const keylen = Number.isSafeInteger(answer.keylen) ? answer.keylen as number : 32;
    if (salt !== undefined && typeof answer.key !== 'string') key = deriveKey(key, salt, iterations, keylen);
    return [{
      authid, role, key, source: 'dynamic', extra: isDict(answer.extra) ? answer.extra : undefined,
      salted: salt !== undefined ? { salt, iterations, keylen } : undefined,
    }];
  }

  private async checkTicket(authid: string, ticket: string, context: HelloContext, dynamic: boolean): Promise<TicketUser | undefined> {
    if (this.revoked.has(authid)) return undefined;
    const user = this.ticketUsers.get(authid);
    if (user) return constantTimeEqual(user.ticket, ticket) ? user : undefined;
    if (!dynamic) {
      constantTimeEqual(ticket, ticket); // same work for unknown authids as for wrong tickets
      return undefined;
    }
    const answer = await this.askDynamic('ticket', authid, context, { ticket });
    return typeof answer.role === 'string'
      ? { authid, role: answer.role, ticket: '', extra: isDict(answer.extra) ? answer.extra : undefined }
      : undefined;
  }

  private async findCryptosign(authid: string | undefined, pubkey: string, context: HelloContext, dynamic: boolean): Promise<CryptosignUser | undefined> {
    const owns = (u: CryptosignUser) => u.pubkeys.includes(pubkey);
    let user = authid !== undefined ? this.cryptosignUsers.get(authid) : [...this.cryptosignUsers.values()].find(owns);
    if (user && !owns(user)) user = undefined;
    if (user && !this.revoked.has(user.authid)) return user;
    if (!dynamic || authid === undefined) return undefined;
    const answer = await this.askDynamic('cryptosign', authid, context);
    const pubkeys = Array.isArray(answer.pubkeys) ? answer.pubkeys.filter(isEd25519PublicKeyHex).map((k) => k.toLowerCase()) : [];
    if (typeof answer.role !== 'string' || !pubkeys.includes(pubkey)) return undefined;
    return { authid, role: answer.role, pubkeys, extra: isDict(answer.extra) ? answer.extra : undefined };
  }

  /**
   * Call the dynamic authenticator: `(realm, authid, details)` → a dict (or a role string).
   * Any failure (no such procedure, an error, a timeout) refuses the login.
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
      this.logger.limited('auth.dynamic_failed', { realm: this.realm, procedure, authid, error: (error as Error).message });
      throw error;
    }
  }
}
