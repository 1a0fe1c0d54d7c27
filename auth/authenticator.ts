import type { Dict } from '../router/protocol/messages.js';
import type { TransportInfo } from '../router/transport/transport.js';
import type { CredentialRef } from './credentials.js';

/**
 * The authentication step between HELLO and WELCOME (wamp-spec §6). One implementation per
 * method, each in its own file. `hello` answers the HELLO with a welcome, a refusal, or a
 * challenge whose `verify` is called at most once, for the single AUTHENTICATE that may follow.
 */

export interface HelloContext {
  realm: string;
  /** The session ID that WELCOME will carry (WAMP-CRA embeds it in the challenge). */
  sessionId: number;
  /** The client's requested principal; a hint, never a grant. */
  authid?: string;
  /** The client's requested role; never grants a role. */
  authrole?: string;
  authextra: Dict;
  /** The whole HELLO.Details. */
  details: Dict;
  transport: TransportInfo;
}

/** Who the session is once authenticated: becomes WELCOME.Details. */
export interface Identity {
  authid: string;
  authrole: string;
  authmethod: string;
  authprovider: string;
  authextra?: Dict;
  /** The credential used, for periodic re-verification and revocation; absent for anonymous. */
  credential?: CredentialRef;
}

export interface Welcome { outcome: 'welcome'; identity: Identity }
export interface Deny { outcome: 'deny'; reason: string; message: string }
export interface ChallengeStep {
  outcome: 'challenge';
  authmethod: string;
  extra: Dict;
  verify(signature: string, extra: Dict): Welcome | Deny | Promise<Welcome | Deny>;
}

export type HelloOutcome = Welcome | Deny | ChallengeStep;

export interface Authenticator {
  readonly authmethod: string;
  hello(context: HelloContext): HelloOutcome | Promise<HelloOutcome>;
}

export function welcome(identity: Identity): Welcome {
  return { outcome: 'welcome', identity };
}

export function deny(reason: string, message: string): Deny {
  return { outcome: 'deny', reason, message };
}
