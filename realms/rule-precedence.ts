/**
 * Which permission rule decides (README "Permissions"): an `exact` rule decides first; otherwise,
 * among the matching `prefix` and `wildcard` rules, the one with more literal URI components wins,
 * then the longer rule URI, and rules still tied are merged (deny over allow).
 *
 * This is deliberately not the dealer's §8.3 order (exact > longest prefix > wildcard), which picks
 * one registration: with that order every prefix rule outranks every wildcard rule, so a wildcard
 * deny such as `app..private` could never narrow a prefix allow such as `app.`.
 */

import type { MatchPolicy } from '../router/protocol/uri.js';

/** The part of a rule that decides where it applies and how strongly. */
export interface RuleShape {
  readonly uri: string;
  readonly match: MatchPolicy;
}

/** Higher ranks decide. Exact rules are above every pattern; patterns compare component count, then length. */
export interface RuleRank {
  readonly exact: boolean;
  /** Non-empty components of the rule URI split on '.': `app.` 1, `app..private` 2, `""` 0. */
  readonly literals: number;
  /** The rule URI's length in characters. */
  readonly length: number;
}

export function literalComponents(uri: string): number {
  let count = 0;
  let inComponent = false;
  for (let i = 0; i < uri.length; i++) {
    if (uri.charCodeAt(i) === 46 /* '.' */) inComponent = false;
    else if (!inComponent) {
      inComponent = true;
      count++;
    }
  }
  return count;
}

export function rankOf(rule: RuleShape): RuleRank {
  return { exact: rule.match === 'exact', literals: literalComponents(rule.uri), length: rule.uri.length };
}

/** Positive when `a` outranks `b`, negative when `b` outranks `a`, 0 when they tie (and are merged). */
export function compareRanks(a: RuleRank, b: RuleRank): number {
  if (a.exact !== b.exact) return a.exact ? 1 : -1;
  if (a.exact) return 0; // exact rules only ever meet others with the same URI
  return a.literals - b.literals || a.length - b.length;
}

/**
 * Whether a rule matches a URI, written as plainly as possible (the lint and the tests use it; the
 * router itself goes through UriIndex). A wildcard matches the same number of components with its
 * non-empty components equal; a prefix is a string prefix (`app.us` matches `app.user`).
 */
export function ruleMatches(rule: RuleShape, uri: string): boolean {
  if (rule.match === 'exact') return rule.uri === uri;
  if (rule.match === 'prefix') return uri.startsWith(rule.uri);
  const pattern = rule.uri.split('.');
  const parts = uri.split('.');
  return pattern.length === parts.length && pattern.every((component, i) => component === '' || component === parts[i]);
}
