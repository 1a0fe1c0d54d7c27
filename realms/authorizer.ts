import type { Action, Authorizer, DecidedBy, Decision, Principal } from '../router/authorization.js';
import type { CallResult, InternalCall } from '../router/internal-caller.js';
import type { Logger } from '../router/log.js';
import { isDict } from '../router/protocol/decode.js';
import type { RolePermissions } from './permissions.js';

// Declared one layer down, where broker and dealer use them (router/authorization.ts, router/internal-caller.ts).
export type { Authorizer, InternalCall, Principal };

export const DENY: Decision = Object.freeze({ allow: false, disclose: false });

export interface DynamicAuthorizerOptions {
  procedure: string;
  ttlMs: number;
  timeoutMs: number;
  realm: string;
  call: InternalCall;
  logger: Logger;
  maxEntries?: number;
}

/**
 * A realm's authorization: the role's static rules decide wherever one matches; where none does
 * and the realm names an authorizer procedure, that procedure is asked with
 * `(session details, uri, action)`. Its answers are cached per (authrole, uri, action) for
 * `ttlMs`; concurrent identical questions share one call; a failure or timeout is a deny.
 */
export class RealmAuthorizer implements Authorizer {
  private readonly cache = new Map<string, { decision: Decision; expires: number }>();
  private readonly inflight = new Map<string, Promise<Decision>>();
  /** Bumped by `clear()`: answers to questions asked before it are neither shared nor cached. */
  private generation = 0;

  constructor(
    private readonly roles: () => ReadonlyMap<string, RolePermissions>,
    private readonly dynamic: () => DynamicAuthorizerOptions | undefined,
  ) {}

  decide(principal: Principal, uri: string, action: Action): Decision | Promise<Decision> {
    const fixed = this.roles().get(principal.authrole)?.lookup(uri, action);
    if (fixed) return fixed;
    const dynamic = this.dynamic();
    if (!dynamic) return DENY;
    const key = `${principal.authrole}\u0000${action}\u0000${uri}`;
    const cached = this.cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.decision;
    return this.inflight.get(key) ?? this.ask(dynamic, key, principal, uri, action);
  }

  /** A matching static rule, else the dynamic authorizer if the realm has one, else no rule at all. */
  explain(principal: Principal, uri: string, action: Action): DecidedBy {
    const rule = this.roles().get(principal.authrole)?.explain(uri, action);
    if (rule) return { decidedBy: 'rule', rule };
    return { decidedBy: this.dynamic() ? 'dynamic authorizer' : 'no rule matched' };
  }

  /** Forget every cached answer (roles or the authorizer changed). */
  clear(): void {
    this.cache.clear();
    this.inflight.clear();
    this.generation++;
  }

  private ask(options: DynamicAuthorizerOptions, key: string, principal: Principal, uri: string, action: Action): Promise<Decision> {
    const generation = this.generation;
    const details = {
      session: principal.id, authid: principal.authid, authrole: principal.authrole,
      authmethod: principal.authmethod, authprovider: principal.authprovider, realm: options.realm,
    };
    const answer = options.call(options.procedure, [details, uri, action], {}, options.timeoutMs)
      .then((result) => ({ decision: parseAnswer(result), ttl: options.ttlMs }))
      .catch((error: Error) => {
        options.logger.limited('authorizer.failed', { realm: options.realm, procedure: options.procedure, error: error.message });
        // Fail closed; remember the failure only briefly so a recovered authorizer is asked again soon.
        return { decision: DENY, ttl: Math.min(options.ttlMs, 1000) };
      })
      .then(({ decision, ttl }) => {
        if (generation !== this.generation) return decision;
        this.inflight.delete(key);
        if (ttl > 0) {
          if (this.cache.size >= (options.maxEntries ?? 10_000)) this.cache.clear();
          this.cache.set(key, { decision, expires: Date.now() + ttl });
        }
        return decision;
      });
    this.inflight.set(key, answer);
    return answer;
  }
}

/** `true` / `false`, or `{allow, disclose?}` as the first result argument or the kwargs. */
function parseAnswer(result: CallResult): Decision {
  const value = result.args?.[0] ?? result.kwargs;
  if (value === true) return { allow: true, disclose: false };
  if (isDict(value) && value.allow === true) return { allow: true, disclose: value.disclose === true };
  return DENY;
}

/**
 * An application's own authorizer, passed in code (`createRouter(config, {authorizers})`). It is
 * asked first, for every action; a decision it returns is final, and `undefined` means "no opinion":
 * then the realm's static role rules decide, then its authorizer procedure, else deny. It may answer
 * with a promise; a throw or rejection is a deny (fail closed). Nothing is cached: keep it fast.
 */
export interface AppAuthorizer {
  decide(principal: Principal, uri: string, action: Action): Partial<Decision> | undefined | Promise<Partial<Decision> | undefined>;
}

/** The application's authorizer in front of the realm's own. */
export class LayeredAuthorizer implements Authorizer {
  constructor(private readonly app: AppAuthorizer, private readonly realm: Authorizer) {}

  decide(principal: Principal, uri: string, action: Action): Decision | Promise<Decision> {
    let answer: ReturnType<AppAuthorizer['decide']>;
    try {
      answer = this.app.decide(principal, uri, action);
    } catch {
      return APP_DENY;
    }
    if (answer instanceof Promise) {
      return answer.then((d) => (d === undefined ? this.realm.decide(principal, uri, action) : normalize(d)), () => APP_DENY);
    }
    return answer === undefined ? this.realm.decide(principal, uri, action) : normalize(answer);
  }

  /** The application's own denials are marked (APP_DENY); anything else the realm decided. */
  explain(principal: Principal, uri: string, action: Action, decision: Decision): DecidedBy {
    if (decision === APP_DENY) return { decidedBy: 'application authorizer' };
    return this.realm.explain?.(principal, uri, action, decision) ?? { decidedBy: 'no rule matched' };
  }
}

/** A deny by the application's authorizer: equal to DENY, but recognisable for the refusal log. */
const APP_DENY: Decision = Object.freeze({ allow: false, disclose: false });

function normalize(decision: Partial<Decision> | null): Decision {
  return decision?.allow === true ? { allow: true, disclose: decision.disclose === true } : APP_DENY;
}
