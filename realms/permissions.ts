/**
 * Per-role URI permissions (style.md §1.8 lesson 5): the highest-ranked matching rules decide
 * (realms/rule-precedence.ts), deny by default, decisions cached.
 */

import type { Action, Decision } from '../router/authorization.js';
import type { MatchPolicy } from '../router/protocol/uri.js';
import { UriIndex } from '../router/matching/uri-index.js';
import { compareRanks, rankOf, type RuleRank } from './rule-precedence.js';
import type { RuleShape } from './rule-precedence.js';

// Declared one layer down, where broker and dealer ask for decisions (router/authorization.ts).
export type { Action, Decision };

export interface PermissionRule {
  uri: string;
  match: MatchPolicy;
  /** A missing flag means deny. */
  allow: Partial<Record<Action, boolean>>;
  /** `caller` applies to call/register decisions, `publisher` to publish/subscribe decisions. */
  disclose?: { caller?: boolean; publisher?: boolean };
}

const ACTIONS: readonly Action[] = ['call', 'register', 'publish', 'subscribe'];

// Decisions are shared frozen constants so the cached hot path allocates nothing.
const DENY: Decision = Object.freeze({ allow: false, disclose: false });
const ALLOW: Decision = Object.freeze({ allow: true, disclose: false });
const ALLOW_DISCLOSE: Decision = Object.freeze({ allow: true, disclose: true });

export const DEFAULT_PERMISSION_CACHE_SIZE = 10_000;

/** Cache marker for "no rule matches" (distinct from an explicit deny). */
const NO_RULE: Decision = Object.freeze({ allow: false, disclose: false });

/** Slot of an action in per-action arrays; -1 for anything else (untyped callers get DENY). */
function slotOf(action: Action): number {
  switch (action) {
    case 'call':
      return 0;
    case 'register':
      return 1;
    case 'publish':
      return 2;
    case 'subscribe':
      return 3;
    default:
      return -1;
  }
}

function discloseFlag(rule: PermissionRule, action: Action): boolean {
  const d = rule.disclose;
  if (d === undefined) return false;
  return (action === 'call' || action === 'register' ? d.caller : d.publisher) === true;
}

/** Rules with one (uri, match), merged: the decision per action slot, and their common rank. */
interface RuleGroup {
  readonly shape: RuleShape;
  readonly rank: RuleRank;
  readonly decisions: readonly Decision[];
}

/**
 * Decisions of rules tied at the top rank, merged per action: allowed only if every one allows,
 * disclosed if any (allowing) one discloses.
 */
function mergeTied(a: Decision, b: Decision): Decision {
  if (!a.allow || !b.allow) return DENY;
  return a.disclose || b.disclose ? ALLOW_DISCLOSE : ALLOW;
}

/**
 * The permissions of one role on one realm.
 *
 * Precedence (README "Permissions", realms/rule-precedence.ts): an `exact` rule decides first;
 * otherwise, among the matching `prefix` and `wildcard` rules, the one with more literal URI
 * components wins, then the longer rule URI, and rules tied on both are merged: an action is
 * allowed only if every one of them allows it (deny beats allow) and disclosed if any of them
 * discloses it. So `app..private` (2 components) narrows `app.` (1), and a `wamp.` prefix with an
 * empty `allow` carves the meta API out of a `""` prefix allow-all.
 *
 * Instances are immutable; when a role's rules change build a new instance (which also discards
 * the cache).
 */
export class RolePermissions {
  /** Per (uri, match): the merged rules with that key. */
  private readonly index = new UriIndex<RuleGroup>();
  /** One map per action slot so the key is the URI itself: no string concatenation per call. */
  private readonly cache: Map<string, Decision>[] = ACTIONS.map(() => new Map<string, Decision>());
  private readonly cacheSize: number;
  private cached = 0;

  constructor(rules: PermissionRule[], options: { cacheSize?: number } = {}) {
    const cacheSize = options.cacheSize ?? DEFAULT_PERMISSION_CACHE_SIZE;
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      throw new RangeError(`cacheSize must be a non-negative integer, got ${String(cacheSize)}`);
    }
    this.cacheSize = cacheSize;

    interface Merged {
      allow: boolean[];
      disclose: boolean[];
    }
    const merged = new UriIndex<Merged>();
    for (const rule of rules) {
      let m = merged.get(rule.uri, rule.match);
      if (m === undefined) {
        m = { allow: ACTIONS.map(() => true), disclose: ACTIONS.map(() => false) };
        merged.set(rule.uri, rule.match, m);
      }
      for (const action of ACTIONS) {
        const slot = slotOf(action);
        m.allow[slot] = m.allow[slot]! && rule.allow[action] === true;
        m.disclose[slot] = m.disclose[slot]! || discloseFlag(rule, action);
      }
    }
    for (const [uri, match, m] of merged.entries()) {
      const decisions = m.allow.map((allow, slot) => (!allow ? DENY : m.disclose[slot] ? ALLOW_DISCLOSE : ALLOW));
      this.index.set(uri, match, { shape: { uri, match }, rank: rankOf({ uri, match }), decisions });
    }
  }

  /** Allow/disclose for `action` on the concrete `uri`. The result is frozen and shared. */
  decide(uri: string, action: Action): Decision {
    return this.lookup(uri, action) ?? DENY;
  }

  /**
   * Like `decide`, but undefined when no rule matches at all, so that a realm with a dynamic
   * authorizer can ask it exactly where the static rules are silent.
   */
  lookup(uri: string, action: Action): Decision | undefined {
    const slot = slotOf(action);
    if (slot < 0) return DENY;
    const cache = this.cache[slot]!;
    const hit = cache.get(uri);
    if (hit !== undefined) return hit === NO_RULE ? undefined : hit;

    const decision = this.decideUncached(uri, slot);
    if (this.cacheSize > 0) {
      // Clearing when full is crude but O(1) amortised and cannot be pinned by a hostile URI mix.
      if (this.cached >= this.cacheSize) this.clearCache();
      cache.set(uri, decision);
      this.cached++;
    }
    return decision === NO_RULE ? undefined : decision;
  }

  /** The top-ranked matching groups, merged; NO_RULE when none matches. */
  private decideUncached(uri: string, slot: number): Decision {
    const top = this.topGroups(uri);
    return top.length === 0 ? NO_RULE : top.map((group) => group.decisions[slot]!).reduce(mergeTied);
  }

  /** The matching groups of the highest rank (README "Permissions"); an exact one stands alone. */
  private topGroups(uri: string): RuleGroup[] {
    let top: RuleGroup[] = [];
    for (const group of this.index.matchAll(uri)) {
      const order = top.length === 0 ? 1 : compareRanks(group.rank, top[0]!.rank);
      if (order > 0) top = [group];
      else if (order === 0) top.push(group);
    }
    return top;
  }

  /** Number of cached decisions (bounded by `cacheSize`). */
  get cachedDecisions(): number {
    return this.cached;
  }

  clearCache(): void {
    for (const map of this.cache) map.clear();
    this.cached = 0;
  }

  /**
   * For the refusal log (realms/refusals.ts): the rule that decides `action` on `uri` (of the
   * top-ranked matching rules, the first that denies it, since deny wins a tie; else the first),
   * or undefined when no rule matches. Off the hot path: only refusals that get logged ask.
   */
  explain(uri: string, action: Action): RuleShape | undefined {
    const slot = slotOf(action);
    const top = this.topGroups(uri);
    return (top.find((group) => group.decisions[slot]?.allow !== true) ?? top[0])?.shape;
  }
}
