import {
  refusalMessage, UNLOGGED_REFUSALS,
  type Action, type DecidedBy, type Decision, type Principal, type RefusalContext, type RefusalReporter,
} from '../router/authorization.js';
import type { Logger } from '../router/log.js';

/**
 * Refused actions made debuggable (issue 14.3): the client's ERROR names the action and the URI
 * (never the rules), and the router logs one `authorization.refused` line at info with who was
 * refused, what, and what decided it, rate limited per session so that a flood of refused calls
 * from one session yields a bounded number of lines plus a count of the ones left out.
 */

// Declared one layer down, where broker and dealer report refusals (router/authorization.ts).
export { refusalMessage, UNLOGGED_REFUSALS, type DecidedBy, type RefusalContext, type RefusalReporter };

/** Answers "what decided this?" after the fact, only for refusals that will be logged. */
export type ExplainRefusal = (principal: Principal, uri: string, action: Action, decision: Decision) => DecidedBy;

export interface RefusalLogOptions {
  /** Lines a session may log at once. */
  burst?: number;
  /** Lines per second a session earns back, up to `burst`. */
  perSecond?: number;
  now?: () => number;
}

/** Per-session budget of refusal lines: a token bucket that never goes into debt, and a count of what it left out. */
interface LineBudget {
  tokens: number;
  last: number;
  suppressed: number;
}

/** Budgets of principals that are not realm sessions (HTTP bridge callers are new per request): keyed by method and authid. */
const MAX_OTHER_BUDGETS = 10_000;

export class RefusalLog implements RefusalReporter {
  private readonly sessions = new WeakMap<Principal, LineBudget>();
  private readonly others = new Map<string, LineBudget>();
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly now: () => number;

  constructor(
    private readonly realm: string,
    private readonly logger: Logger,
    private readonly explain: ExplainRefusal,
    /** Is this principal a session of the realm (one budget per object), or a per-request caller (one per authid)? */
    private readonly isSession: (principal: Principal) => boolean,
    options: RefusalLogOptions = {},
  ) {
    this.burst = options.burst ?? 10;
    this.perSecond = options.perSecond ?? 1;
    this.now = options.now ?? Date.now;
  }

  refused(principal: Principal, action: Action, uri: string, decision: Decision, context?: RefusalContext): string {
    const budget = this.budgetOf(principal);
    if (this.spend(budget)) {
      const suppressed = budget.suppressed;
      budget.suppressed = 0;
      this.logger.info('authorization.refused', {
        realm: this.realm, session: principal.id, authid: principal.authid, authrole: principal.authrole,
        action, uri, ...(context ? { context } : {}), ...this.explain(principal, uri, action, decision),
        ...(suppressed > 0 ? { suppressed } : {}),
      });
    } else {
      budget.suppressed++;
    }
    return refusalMessage(action, uri, context);
  }

  /** A session left: say how many of its refusals were never logged, if any. */
  forget(principal: Principal): void {
    const budget = this.sessions.get(principal);
    this.sessions.delete(principal);
    if (budget && budget.suppressed > 0) {
      this.logger.info('authorization.refusals_suppressed', {
        realm: this.realm, session: principal.id, authid: principal.authid, authrole: principal.authrole, count: budget.suppressed,
      });
    }
  }

  private budgetOf(principal: Principal): LineBudget {
    const fresh = (): LineBudget => ({ tokens: this.burst, last: this.now(), suppressed: 0 });
    if (this.isSession(principal)) {
      let budget = this.sessions.get(principal);
      if (!budget) this.sessions.set(principal, (budget = fresh()));
      return budget;
    }
    const key = `${principal.authmethod ?? ''}\u0000${principal.authid}`;
    let budget = this.others.get(key);
    if (!budget) {
      if (this.others.size >= MAX_OTHER_BUDGETS) this.others.clear();
      this.others.set(key, (budget = fresh()));
    }
    return budget;
  }

  /** Take one line from the budget if there is one. */
  private spend(budget: LineBudget): boolean {
    const t = this.now();
    budget.tokens = Math.min(this.burst, budget.tokens + ((t - budget.last) * this.perSecond) / 1000);
    budget.last = t;
    if (budget.tokens < 1) return false;
    budget.tokens -= 1;
    return true;
  }
}
