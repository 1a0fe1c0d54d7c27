import { randomBytes } from 'node:crypto';
import { deny, welcome, type Authenticator, type Deny, type HelloContext, type HelloOutcome, type LoginFailureCause, type Welcome } from './authenticator.js';
import type { CredentialSource, CryptosignUser } from './credentials.js';
import { fingerprint, isEd25519PublicKeyHex, verifyCryptosign } from './crypto.js';
import { LoginGuard } from './guard.js';
import { ErrorUri } from '../router/protocol/errors.js';

/**
 * Cryptosign (wamp-spec §6.4): the client names its Ed25519 public key in HELLO.authextra.pubkey,
 * the router sends 32 random bytes, the client signs them. The signed bytes must be exactly the
 * challenge of this session, so a signature captured from another session is worthless.
 * Channel binding is not offered (`channel_binding: null`).
 */

/** The user owning `pubkey` (and `authid`, when the client named one), or why there is none to log in. */
export type CryptosignVerdict = { user: CryptosignUser } | { cause: LoginFailureCause; detail?: string };
export type CryptosignLookup = (authid: string | undefined, pubkey: string, context: HelloContext) =>
  CryptosignVerdict | Promise<CryptosignVerdict>;

export class CryptosignAuthenticator implements Authenticator {
  readonly authmethod = 'cryptosign';

  constructor(private readonly lookup: CryptosignLookup, private readonly guard: LoginGuard, private readonly source: CredentialSource) {}

  async hello(context: HelloContext): Promise<HelloOutcome> {
    const pubkey = context.authextra.pubkey;
    if (!isEd25519PublicKeyHex(pubkey)) return deny(ErrorUri.notAuthorized, 'cryptosign requires authextra.pubkey (64 hex characters)', 'bad_hello');
    const throttleKey = context.authid ?? pubkey.toLowerCase();
    const blocked = this.guard.check(throttleKey, context);
    if (blocked) return blocked;
    let verdict: CryptosignVerdict;
    try {
      verdict = await this.lookup(context.authid, pubkey.toLowerCase(), context);
    } catch (error) {
      verdict = { cause: 'dynamic_failed', detail: (error as Error)?.message };
    }
    const challenge = randomBytes(32);
    return {
      outcome: 'challenge',
      authmethod: 'cryptosign',
      extra: { challenge: challenge.toString('hex'), channel_binding: null },
      verify: (signature: string): Welcome | Deny => {
        const locked = this.guard.check(throttleKey, context);
        if (locked) return locked;
        const valid = verifyCryptosign(pubkey, challenge, signature);
        if (!valid) return this.guard.failed(throttleKey, context, 'bad_signature');
        if (!('user' in verdict)) return this.guard.failed(throttleKey, context, verdict.cause, verdict.detail);
        const user = verdict.user;
        this.guard.succeeded(throttleKey);
        return welcome({
          authid: user.authid, authrole: user.role, authmethod: 'cryptosign', authprovider: this.source, authextra: user.extra ?? {},
          credential: { method: 'cryptosign', authid: user.authid, source: this.source, fingerprint: fingerprint(pubkey.toLowerCase()), mintedAt: user.mintedAt },
        });
      },
    };
  }
}
