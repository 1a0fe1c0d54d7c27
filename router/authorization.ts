import type { MatchPolicy } from './protocol/uri.js';

/**
 * What routing asks of authorization, declared below the realms that answer it (style.md §1.10):
 * broker, dealer and the meta API hold an `Authorizer` and a `RefusalReporter`; the realm's
 * implementations live in realms/authorizer.ts, realms/permissions.ts and realms/refusals.ts.
 * Declared here, routing never imports realms/, and realms/ imports routing only downwards.
 */

export type Action = 'call' | 'register' | 'publish' | 'subscribe';

/**
 * `disclose` is caller disclosure for call/register and publisher disclosure for
 * publish/subscribe. It is always false when `allow` is false.
 */
export interface Decision {
  allow: boolean;
  disclose: boolean;
}

/** The session facts an authorization decision may depend on. */
export interface Principal {
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;
  readonly authmethod?: string;
  readonly authprovider?: string;
}

/**
 * Decides whether a principal may perform an action on a concrete URI. Called before every
 * routed action and, for pattern subscriptions and registrations, again at delivery. Static
 * decisions are synchronous; a dynamic authorizer may answer with a promise.
 */
export interface Authorizer {
  decide(principal: Principal, uri: string, action: Action): Decision | Promise<Decision>;
  /** For the refusal log: what decided `decision`, which `decide` just returned (realms/refusals.ts). */
  explain?(principal: Principal, uri: string, action: Action, decision: Decision): DecidedBy;
}

/** What decided a refusal, for the log line. */
export type DecidedBy =
  | { decidedBy: 'rule'; rule: { uri: string; match: MatchPolicy } }
  | { decidedBy: 'no rule matched' | 'dynamic authorizer' | 'application authorizer' };

/** What broker, dealer and session meta API tell about a refusal: they only need its message. */
export interface RefusalReporter {
  /** Note that `principal` may not `action` on `uri`; returns the ERROR message for the client. */
  refused(principal: Principal, action: Action, uri: string, decision: Decision, context?: RefusalContext): string;
}

/** Where a refusal happened, when it is not the plain action (a testament's PUBLISH is stored for later). */
export type RefusalContext = 'testament';

export function refusalMessage(action: Action, uri: string, context?: RefusalContext): string {
  return `not authorized to ${action} ${uri}${context ? ` (${context})` : ''}`;
}

/** The reporter of a broker or dealer outside a realm (unit tests): the message, no log. */
export const UNLOGGED_REFUSALS: RefusalReporter = { refused: (_p, action, uri, _d, context) => refusalMessage(action, uri, context) };
