import { createHmac } from 'node:crypto';
import { ErrorUri } from '../router/protocol/errors.js';
import { deny, welcome, type Authenticator, type Deny, type HelloContext, type HelloOutcome, type Welcome } from './authenticator.js';
import type { CraUser, CredentialSource, SaltParams } from './credentials.js';
import { constantTimeEqual, DEFAULT_ITERATIONS, DEFAULT_KEYLEN, fingerprint, newNonce, newSecret, signChallenge } from './crypto.js';
import { LoginGuard } from './guard.js';

/**
 * WAMP-CRA (wamp-spec §6.2). The challenge is a JSON object naming the future authid, authrole,
 * provider, a fresh nonce, a timestamp and the session ID WELCOME will carry; the client answers
 * with base64 HMAC-SHA256 over that exact string. An unknown authid is challenged exactly like a
 * known one (same keys, a stable fake salt) and refused with the same ABORT, after the same work.
 */

/** Finds the candidate credentials of an authid; several when issued credentials coexist. */
export type CraLookup = (authid: string, context: HelloContext) => CraUser[] | Promise<CraUser[]>;

export interface WampCraOptions {
  lookup: CraLookup;
  guard: LoginGuard;
  /** Secret input for fake salts: stable per config, unknown to clients. */
  fakeSaltKey: Buffer;
  /** Role shown in challenges to unknown authids (a configured one, so it looks ordinary). */
  fakeRole: string;
  /** Whether unknown authids get salt parameters (true unless every configured user is plain). */
  fakeSalted: boolean;
  /** authprovider shown to unknown authids: the realm's main source of WAMP-CRA users. */
  fakeProvider: CredentialSource;
  now?: () => number;
}

export class WampCraAuthenticator implements Authenticator {
  readonly authmethod = 'wampcra';
  private readonly now: () => number;

  constructor(private readonly options: WampCraOptions) {
    this.now = options.now ?? Date.now;
  }

  async hello(context: HelloContext): Promise<HelloOutcome> {
    const authid = context.authid;
    if (!authid) return deny(ErrorUri.notAuthorized, 'wampcra requires an authid');
    const blocked = this.options.guard.check(authid, context);
    if (blocked) return blocked;

    const candidates = await lookupQuietly(this.options.lookup, authid, context);
    const live = candidates.filter((user) => user.expiresAt === undefined || user.expiresAt > this.now());
    // All candidates of one authid share salt parameters (issued credentials reuse the authid's salt).
    const first = live[0];
    const salted: SaltParams | undefined = first ? first.salted : this.fakeSalt(authid);
    const challenge = JSON.stringify({
      authid,
      authrole: first?.role ?? this.options.fakeRole,
      authmethod: 'wampcra',
      authprovider: first?.source ?? this.options.fakeProvider,
      nonce: newNonce(),
      timestamp: new Date(this.now()).toISOString(),
      session: context.sessionId,
    });
    const extra: Record<string, unknown> = { challenge };
    if (salted) Object.assign(extra, { salt: salted.salt, iterations: salted.iterations, keylen: salted.keylen });

    // Unknown authids are checked against a random key: the same HMAC and compare, never a match.
    const keys = live.length > 0 ? live : [undefined];
    return {
      outcome: 'challenge',
      authmethod: 'wampcra',
      extra,
      verify: (signature: string): Welcome | Deny => {
        // A challenge fetched before a lockout must not become a way around it.
        const locked = this.options.guard.check(authid, context);
        if (locked) return locked;
        let matched: CraUser | undefined;
        for (const user of keys) {
          const expected = signChallenge(user?.key ?? newSecret(), challenge);
          if (constantTimeEqual(expected, signature) && user) matched = user;
        }
        if (!matched || (matched.expiresAt !== undefined && matched.expiresAt <= this.now())) {
          return this.options.guard.failed(authid, context);
        }
        this.options.guard.succeeded(authid);
        return welcome({
          authid, authrole: matched.role, authmethod: 'wampcra', authprovider: matched.source, authextra: matched.extra ?? {},
          credential: {
            method: 'wampcra', authid, source: matched.source, credentialId: matched.credentialId, expiresAt: matched.expiresAt,
            fingerprint: fingerprint(matched.key),
          },
        });
      },
    };
  }

  private fakeSalt(authid: string): SaltParams | undefined {
    if (!this.options.fakeSalted) return undefined;
    const salt = createHmac('sha256', this.options.fakeSaltKey).update(authid).digest('base64url').slice(0, 16);
    return { salt, iterations: DEFAULT_ITERATIONS, keylen: DEFAULT_KEYLEN };
  }
}

/** A failing lookup (a dynamic authenticator that throws) looks exactly like an unknown authid. */
async function lookupQuietly(lookup: CraLookup, authid: string, context: HelloContext): Promise<CraUser[]> {
  try {
    return await lookup(authid, context);
  } catch {
    return [];
  }
}
