import type { Action, Decision, PermissionRule } from '../../realms/permissions.js';
import { specMatches } from './uri-oracle.js';

/**
 * A naive oracle for role permissions, written straight from the README's precedence sentence and
 * sharing no code with the router: loop over every rule, keep those that match, rank them.
 *
 * "An `exact` rule decides first; otherwise, among the matching `prefix` and `wildcard` rules, the
 * one with more literal components wins, then the one with the longer `uri`; rules tied on both are
 * merged: an action is allowed only if all of them allow it, disclosed if any of them discloses it."
 */

function matches(rule: PermissionRule, uri: string): boolean {
  return specMatches(rule.uri, rule.match, uri);
}

/** [literal components, uri length]: compared in that order, higher wins. */
function score(rule: PermissionRule): [number, number] {
  return [rule.uri.split('.').filter((c) => c !== '').length, rule.uri.length];
}

/** The rules that decide for `uri`: the exact ones if any, else the top-scored patterns. */
export function decidingRules(rules: readonly PermissionRule[], uri: string): PermissionRule[] {
  const matching = rules.filter((r) => matches(r, uri));
  const exact = matching.filter((r) => r.match === 'exact');
  if (exact.length > 0) return exact;
  let best: [number, number] = [-1, -1];
  for (const rule of matching) {
    const [literals, length] = score(rule);
    if (literals > best[0] || (literals === best[0] && length > best[1])) best = [literals, length];
  }
  return matching.filter((r) => score(r)[0] === best[0] && score(r)[1] === best[1]);
}

/** The decision, or undefined when no rule matches (RolePermissions.lookup). */
export function oracleLookup(rules: readonly PermissionRule[], uri: string, action: Action): Decision | undefined {
  const top = decidingRules(rules, uri);
  if (top.length === 0) return undefined;
  const allow = top.every((r) => r.allow[action] === true);
  const key = action === 'call' || action === 'register' ? 'caller' : 'publisher';
  return { allow, disclose: allow && top.some((r) => r.disclose?.[key] === true) };
}

/** Like {@link oracleLookup}, deny when nothing matches (RolePermissions.decide). */
export function oracleDecide(rules: readonly PermissionRule[], uri: string, action: Action): Decision {
  return oracleLookup(rules, uri, action) ?? { allow: false, disclose: false };
}
