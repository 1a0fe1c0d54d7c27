import { then, type MaybePromise } from '../router/maybe-async.js';
import { ErrorUri } from '../router/protocol/errors.js';
import {
  deny, welcome, type Authenticator, type ChallengeStep, type Deny, type HelloContext, type HelloOutcome, type LoginFailureCause, type Welcome,
} from './authenticator.js';
import type { CraUser, SaltParams } from './credentials.js';
import { constantTimeEqual, fingerprint, newNonce, newSecret, signChallenge } from './crypto.js';
import { LoginGuard } from './guard.js';
import type { DeadCause } from './revocations.js';
import type { UnknownAuthids } from './unknown-authid.js';

/**
 * WAMP-CRA (wamp-spec §6.2). The challenge is a JSON object string with the authid, the method, a
 * fresh nonce, a timestamp and the session ID WELCOME will carry; the client answers with base64
 * HMAC-SHA256 over that exact string. The string names no role and no provider: clients only sign
 * it, and anything user-specific in it would tell a probing client which authids exist (and what
 * they may do). The salt parameters of an unknown authid are drawn like a real user's
 * (UnknownAuthids), and it is refused with the same ABORT after the same work.
 */

/**
 * The candidate credentials of an authid (several when issued credentials coexist), dead ones
 * included. Static and issued users are answered at once; only a dynamic authenticator is awaited.
 */
export type CraLookup = (authid: string, context: HelloContext) => CraUser[] | Promise<CraUser[]>;

export interface WampCraOptions {
  lookup: CraLookup;
  guard: LoginGuard;
  /** Salt parameters for authids without a credential. */
  unknown: UnknownAuthids;
  /** Why a candidate was revoked or banned; undefined while it may log in. */
  deadCause: (user: CraUser) => DeadCause | undefined;
  /** Whether the authid is banned, so a refusal without a matching credential logs the ban. */
  banned: (authid: string) => boolean;
  now?: () => number;
}

export class WampCraAuthenticator implements Authenticator {
  readonly authmethod = 'wampcra';
  private readonly now: () => number;

  constructor(private readonly options: WampCraOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Synchronous unless the lookup is (a dynamic authenticator): no promise per static login. */
  hello(context: HelloContext): HelloOutcome | Promise<HelloOutcome> {
    const authid = context.authid;
    if (!authid) return deny(ErrorUri.notAuthorized, 'wampcra requires an authid', 'bad_hello');
    const blocked = this.options.guard.check(authid, context);
    if (blocked) return blocked;
    return then(lookupQuietly(this.options.lookup, authid, context), (found) => this.challenge(authid, context, found));
  }

  private challenge(authid: string, context: HelloContext, { candidates, failure }: Lookup): ChallengeStep {
    // All candidates of one authid share salt parameters (issued credentials share the authid's salt).
    const salted: SaltParams | undefined = candidates.length > 0 ? candidates[0]!.salted : this.options.unknown.saltParams(authid);
    const challenge = JSON.stringify({
      authid, authmethod: 'wampcra', nonce: newNonce(), timestamp: new Date(this.now()).toISOString(), session: context.sessionId,
    });
    const extra: Record<string, unknown> = salted ? { challenge, salt: salted.salt, iterations: salted.iterations, keylen: salted.keylen } : { challenge };

    // Unknown authids are checked against a random key: the same HMAC and compare, never a match.
    const keys = candidates.length > 0 ? candidates : [undefined];
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
        const cause = matched ? this.deadCause(matched) : this.mismatchCause(authid, candidates.length, failure);
        if (!matched || cause) return this.options.guard.failed(authid, context, cause!, failure);
        this.options.guard.succeeded(authid);
        return welcome({
          authid, authrole: matched.role, authmethod: 'wampcra', authprovider: matched.source, authextra: matched.extra ?? {},
          credential: {
            method: 'wampcra', authid, source: matched.source, credentialId: matched.credentialId, expiresAt: matched.expiresAt,
            fingerprint: fingerprintOf(matched), mintedAt: matched.mintedAt,
          },
        });
      },
    };
  }

  private mismatchCause(authid: string, candidates: number, failure: string | undefined): LoginFailureCause {
    if (this.options.banned(authid)) return 'banned';
    if (failure !== undefined) return 'dynamic_failed';
    return candidates === 0 ? 'unknown_authid' : 'bad_signature';
  }

  /** Why the credential that signed correctly may still not log in. */
  private deadCause(user: CraUser): LoginFailureCause | undefined {
    if (user.expiresAt !== undefined && user.expiresAt <= this.now()) return 'expired';
    return this.options.deadCause(user);
  }
}

/** Per credential object: static users live as long as their config, so each key is hashed once, not per login. */
const fingerprints = new WeakMap<CraUser, string>();

function fingerprintOf(user: CraUser): string {
  let known = fingerprints.get(user);
  if (known === undefined) fingerprints.set(user, (known = fingerprint(user.key)));
  return known;
}

interface Lookup { candidates: CraUser[]; failure?: string }

/** A failing lookup (a dynamic authenticator that throws) is challenged like an unknown authid. */
function lookupQuietly(lookup: CraLookup, authid: string, context: HelloContext): MaybePromise<Lookup> {
  const failed = (error: unknown): Lookup => ({ candidates: [], failure: error instanceof Error ? error.message : String(error) });
  try {
    const candidates = lookup(authid, context);
    return candidates instanceof Promise ? candidates.then((found) => ({ candidates: found }), failed) : { candidates };
  } catch (error) {
    return failed(error);
  }
}
