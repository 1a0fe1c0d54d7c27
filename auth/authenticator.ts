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
/**
 * Why a login was refused, as the router's log says it. The client never sees it: every refusal
 * is the same ABORT, so a cause cannot be used to probe which user exists.
 */
export type LoginFailureCause =
  | 'unknown_authid' | 'bad_signature' | 'bad_ticket' | 'throttled' | 'expired' | 'revoked' | 'banned'
  | 'timeout' | 'replay' | 'dynamic_failed' | 'bad_hello' | 'no_such_role';

export interface Deny {
  outcome: 'deny';
  reason: string;
  message: string;
  /** For the log line only; absent from authenticators that do not say (an embedder's). */
  cause?: LoginFailureCause;
  /** A server-side detail for the log (a dynamic authenticator's error), never a secret. */
  detail?: string;
}
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

export function deny(reason: string, message: string, cause?: LoginFailureCause, detail?: string): Deny {
  return { outcome: 'deny', reason, message, ...(cause ? { cause } : {}), ...(detail ? { detail } : {}) };
}
