import type { Limits } from '../router/limits.js';
import type { Logger } from '../router/log.js';
import { ErrorUri } from '../router/protocol/errors.js';
import { deny, type Deny, type HelloContext } from './authenticator.js';
import { FailureThrottle } from './throttle.js';

/**
 * The refusal every credential method shares: one ABORT (`wamp.error.not_authorized`, no detail
 * about which part was wrong), failed attempts throttled per authid and per remote address, and
 * one log line without any secret.
 */
export class LoginGuard {
  private readonly byAuthid: FailureThrottle;
  private readonly byAddress: FailureThrottle;

  constructor(limits: Limits, private readonly logger: Logger, private readonly realm: string) {
    const common = { baseDelayMs: limits.authFailureBaseDelayMs, maxDelayMs: limits.authFailureMaxDelayMs };
    this.byAuthid = new FailureThrottle({ ...common, freeFailures: limits.authFreeFailuresPerAuthid });
    this.byAddress = new FailureThrottle({ ...common, freeFailures: limits.authFreeFailuresPerIp });
  }

  /** A refusal if this authid or address is still locked out after earlier failures. */
  check(authid: string, context: HelloContext): Deny | undefined {
    const wait = Math.max(this.byAuthid.blockedFor(authid), this.byAddress.blockedFor(context.transport.remoteAddress));
    if (wait === 0) return undefined;
    this.logger.limited('auth.throttled', { realm: this.realm, authid, peer: context.transport.peer, retryInMs: wait });
    return refusal();
  }

  failed(authid: string, context: HelloContext): Deny {
    this.byAuthid.recordFailure(authid);
    this.byAddress.recordFailure(context.transport.remoteAddress);
    this.logger.limited('auth.failed', { realm: this.realm, authid, method: context.details.authmethods, peer: context.transport.peer });
    return refusal();
  }

  succeeded(authid: string): void {
    this.byAuthid.recordSuccess(authid);
  }
}

export function refusal(): Deny {
  return deny(ErrorUri.notAuthorized, 'authentication failed');
}
