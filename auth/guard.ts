import type { Limits } from '../router/limits.js';
import { ErrorUri } from '../router/protocol/errors.js';
import { deny, type Deny, type HelloContext, type LoginFailureCause } from './authenticator.js';
import { FailureThrottle } from './throttle.js';

/**
 * The refusal every credential method shares: one ABORT (`wamp.error.not_authorized`, no detail
 * about which part was wrong) carrying the server-side cause for the session's single log line,
 * and failed attempts throttled per authid and per remote address.
 */
export class LoginGuard {
  private readonly byAuthid: FailureThrottle;
  private readonly byAddress: FailureThrottle;

  constructor(limits: Limits) {
    const common = { baseDelayMs: limits.authFailureBaseDelayMs, maxDelayMs: limits.authFailureMaxDelayMs };
    this.byAuthid = new FailureThrottle({ ...common, freeFailures: limits.authFreeFailuresPerAuthid });
    this.byAddress = new FailureThrottle({ ...common, freeFailures: limits.authFreeFailuresPerIp });
  }

  /** A refusal if this authid or address is still locked out after earlier failures. */
  check(authid: string, context: HelloContext): Deny | undefined {
    const wait = Math.max(this.byAuthid.blockedFor(authid), this.byAddress.blockedFor(context.transport.remoteAddress));
    return wait === 0 ? undefined : refusal('throttled', `retry in ${wait} ms`);
  }

  failed(authid: string, context: HelloContext, cause: LoginFailureCause, detail?: string): Deny {
    this.byAuthid.recordFailure(authid);
    this.byAddress.recordFailure(context.transport.remoteAddress);
    return refusal(cause, detail);
  }

  succeeded(authid: string): void {
    this.byAuthid.recordSuccess(authid);
  }
}

export function refusal(cause?: LoginFailureCause, detail?: string): Deny {
  return deny(ErrorUri.notAuthorized, 'authentication failed', cause, detail);
}
