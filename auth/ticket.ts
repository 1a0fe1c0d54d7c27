import { ErrorUri } from '../router/protocol/errors.js';
import { deny, welcome, type Authenticator, type Deny, type HelloContext, type HelloOutcome, type LoginFailureCause, type Welcome } from './authenticator.js';
import type { CredentialSource, TicketUser } from './credentials.js';
import { fingerprint } from './crypto.js';
import { LoginGuard } from './guard.js';

/**
 * Ticket (wamp-spec §6.3): an empty CHALLENGE, then the ticket in AUTHENTICATE. The ticket is
 * a bearer secret in clear, so deployments should run it over TLS only.
 */

/** The user the ticket is right for, or why the login fails. */
export type TicketVerdict = { user: TicketUser } | { cause: LoginFailureCause; detail?: string };

/** Judges `ticket` for `authid`; compares through crypto.constantTimeEqual only. */
export type TicketCheck = (authid: string, ticket: string, context: HelloContext) => TicketVerdict | Promise<TicketVerdict>;

export class TicketAuthenticator implements Authenticator {
  readonly authmethod = 'ticket';

  constructor(private readonly check: TicketCheck, private readonly guard: LoginGuard, private readonly source: CredentialSource) {}

  hello(context: HelloContext): HelloOutcome {
    const authid = context.authid;
    if (!authid) return deny(ErrorUri.notAuthorized, 'ticket requires an authid', 'bad_hello');
    const blocked = this.guard.check(authid, context);
    if (blocked) return blocked;
    return {
      outcome: 'challenge',
      authmethod: 'ticket',
      extra: {},
      verify: async (ticket: string): Promise<Welcome | Deny> => {
        const locked = this.guard.check(authid, context);
        if (locked) return locked;
        let verdict: TicketVerdict;
        try {
          verdict = await this.check(authid, ticket, context);
        } catch (error) {
          verdict = { cause: 'dynamic_failed', detail: (error as Error)?.message };
        }
        if (!('user' in verdict)) return this.guard.failed(authid, context, verdict.cause, verdict.detail);
        const user = verdict.user;
        this.guard.succeeded(authid);
        return welcome({
          authid: user.authid, authrole: user.role, authmethod: 'ticket', authprovider: this.source, authextra: user.extra ?? {},
          credential: { method: 'ticket', authid: user.authid, source: this.source, fingerprint: fingerprint(ticket), mintedAt: user.mintedAt },
        });
      },
    };
  }
}
