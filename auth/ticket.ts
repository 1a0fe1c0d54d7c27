import { ErrorUri } from '../router/protocol/errors.js';
import { deny, welcome, type Authenticator, type Deny, type HelloContext, type HelloOutcome, type Welcome } from './authenticator.js';
import type { CredentialSource, TicketUser } from './credentials.js';
import { fingerprint } from './crypto.js';
import { LoginGuard } from './guard.js';

/**
 * Ticket (wamp-spec §6.3): an empty CHALLENGE, then the ticket in AUTHENTICATE. The ticket is
 * a bearer secret in clear, so deployments should run it over TLS only.
 */

/** Resolves the user if `ticket` is right for `authid`; compares in constant time. */
export type TicketCheck = (authid: string, ticket: string, context: HelloContext) => TicketUser | undefined | Promise<TicketUser | undefined>;

export class TicketAuthenticator implements Authenticator {
  readonly authmethod = 'ticket';

  constructor(private readonly check: TicketCheck, private readonly guard: LoginGuard, private readonly source: CredentialSource) {}

  hello(context: HelloContext): HelloOutcome {
    const authid = context.authid;
    if (!authid) return deny(ErrorUri.notAuthorized, 'ticket requires an authid');
    const blocked = this.guard.check(authid, context);
    if (blocked) return blocked;
    return {
      outcome: 'challenge',
      authmethod: 'ticket',
      extra: {},
      verify: async (ticket: string): Promise<Welcome | Deny> => {
        const locked = this.guard.check(authid, context);
        if (locked) return locked;
        let user: TicketUser | undefined;
        try {
          user = await this.check(authid, ticket, context);
        } catch {
          user = undefined;
        }
        if (!user) return this.guard.failed(authid, context);
        this.guard.succeeded(authid);
        return welcome({
          authid: user.authid, authrole: user.role, authmethod: 'ticket', authprovider: this.source, authextra: user.extra ?? {},
          credential: { method: 'ticket', authid: user.authid, source: this.source, fingerprint: fingerprint(ticket) },
        });
      },
    };
  }
}
