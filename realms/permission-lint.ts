/**
 * Static analysis of role permissions for `--check-config` and the start-up warnings (issue 13
 * item 1): rules that can never decide (shadowed), and rules that look narrower than another yet
 * are overridden by it (at a tie, where deny wins).
 *
 * Exactness rests on witness URIs. A token made of a character that occurs in no rule ("fresh")
 * can be matched by no rule literal and by no prefix that reaches into it. So the witness of a
 * wildcard rule (each empty component replaced by the fresh token) is matched only by rules that
 * match every URI of that wildcard; and the witnesses of a prefix rule (its text plus the fresh
 * token, with 0..n extra fresh components, n past every wildcard's arity) are all matched only by
 * prefix rules that match every URI of that prefix. Hence "rule S matches all of R's witnesses"
 * is "R's URIs are a subset of S's", and "higher rules match every witness" is "R never decides".
 */

import type { Logger } from '../router/log.js';
import type { Action, PermissionRule } from './permissions.js';
import { compareRanks, rankOf, ruleMatches, type RuleRank } from './rule-precedence.js';

const ACTIONS: readonly Action[] = ['call', 'register', 'publish', 'subscribe'];

/** A rule of the config, named by its JSON path (`/realms/0/roles/1/permissions/2`). */
export interface LocatedRule {
  readonly path: string;
  readonly rule: PermissionRule;
}

export type PermissionFinding =
  | { kind: 'shadowed'; rule: LocatedRule; by: LocatedRule[] }
  | { kind: 'overridden'; narrower: LocatedRule; broader: LocatedRule; actions: Action[] };

interface Analyzed extends LocatedRule {
  readonly rank: RuleRank;
  readonly witnesses: string[];
}

/** Every finding for one role's rules, in rule order. */
export function lintRules(rules: readonly LocatedRule[]): PermissionFinding[] {
  const fresh = freshToken(rules);
  const arity = Math.max(1, ...rules.filter((r) => r.rule.match === 'wildcard').map((r) => r.rule.uri.split('.').length));
  const analyzed: Analyzed[] = rules.map((r) => ({ ...r, rank: rankOf(r.rule), witnesses: witnessesOf(r.rule, fresh, arity + 1) }));
  const findings: PermissionFinding[] = [];
  for (const rule of analyzed) {
    const shadowed = shadowersOf(rule, analyzed);
    if (shadowed) findings.push({ kind: 'shadowed', rule: located(rule), by: shadowed.map(located) });
    for (const other of analyzed) {
      const actions = overriddenActions(rule, other);
      if (actions.length > 0) findings.push({ kind: 'overridden', narrower: located(rule), broader: located(other), actions });
    }
  }
  return findings;
}

/** Every finding of a whole router config. */
export function lintConfig(config: ConfigWithRoles): PermissionFinding[] {
  return config.realms.flatMap((realm, r) => realm.roles.flatMap((role, o) =>
    lintRules(role.permissions.map((rule, p) => ({ path: `/realms/${r}/roles/${o}/permissions/${p}`, rule })))));
}

type ConfigWithRoles = { realms: readonly { roles: readonly { permissions: readonly PermissionRule[] }[] }[] };

/** Start-up and reload: one `warn` line per finding (the config is still used as written). */
export function warnPermissionFindings(config: ConfigWithRoles, logger: Logger): void {
  for (const finding of lintConfig(config)) {
    const rule = finding.kind === 'shadowed' ? finding.rule.path : finding.narrower.path;
    logger.warn('config.permission_rule', { kind: finding.kind, rule, message: describeFinding(finding) });
  }
}

/** One line per finding, naming both rules by JSON path. */
export function describeFinding(finding: PermissionFinding): string {
  if (finding.kind === 'shadowed') {
    return `${name(finding.rule)} never decides: ${finding.by.map(name).join(', ')} always outrank${finding.by.length === 1 ? 's' : ''} it`;
  }
  const overridden = finding.actions.map((a) => (finding.narrower.rule.allow[a] === true && finding.broader.rule.allow[a] !== true ? `${a} denied` : `${a} disclosed`));
  return `${name(finding.narrower)} is narrower than ${name(finding.broader)} but ties with it`
    + ` (same literal components and uri length), so on its URIs: ${overridden.join(', ')}`;
}

function name(r: LocatedRule): string {
  return `${r.path} (${r.rule.match} ${JSON.stringify(r.rule.uri)})`;
}

function located(r: Analyzed): LocatedRule {
  return { path: r.path, rule: r.rule };
}

/** The higher-ranked rules covering every witness of `rule`, or undefined if it decides somewhere. */
function shadowersOf(rule: Analyzed, all: readonly Analyzed[]): Analyzed[] | undefined {
  const by = new Set<Analyzed>();
  for (const witness of rule.witnesses) {
    const above = all.filter((s) => s !== rule && compareRanks(s.rank, rule.rank) > 0 && ruleMatches(s.rule, witness));
    if (above.length === 0) return undefined;
    for (const s of above) by.add(s);
  }
  return all.filter((s) => by.has(s));
}

/**
 * Actions on which `broader` (whose URIs include all of `narrower`'s) changes what `narrower` says,
 * because the two tie and are merged. A strictly higher broader rule makes `narrower` shadowed,
 * reported as such; rules with the same uri and match are one merged rule, not a pair.
 */
function overriddenActions(narrower: Analyzed, broader: Analyzed): Action[] {
  if (narrower === broader || compareRanks(narrower.rank, broader.rank) !== 0) return [];
  if (narrower.rule.uri === broader.rule.uri && narrower.rule.match === broader.rule.match) return [];
  if (!narrower.witnesses.every((w) => ruleMatches(broader.rule, w))) return [];
  return ACTIONS.filter((action) => {
    if (narrower.rule.allow[action] !== true) return false;
    if (broader.rule.allow[action] !== true) return true;
    return !discloses(narrower.rule, action) && discloses(broader.rule, action);
  });
}

function discloses(rule: PermissionRule, action: Action): boolean {
  return (action === 'call' || action === 'register' ? rule.disclose?.caller : rule.disclose?.publisher) === true;
}

/** URIs matched only by rules that match every URI `rule` matches (see the file comment). */
function witnessesOf(rule: PermissionRule, fresh: string, extraComponents: number): string[] {
  if (rule.match === 'exact') return [rule.uri];
  if (rule.match === 'wildcard') return [rule.uri.split('.').map((c) => (c === '' ? fresh : c)).join('.')];
  const witnesses: string[] = [];
  for (let k = 0; k <= extraComponents; k++) witnesses.push(rule.uri + fresh + `.${fresh}`.repeat(k));
  return witnesses;
}

/** A one-character URI component that occurs in no rule's uri. */
function freshToken(rules: readonly LocatedRule[]): string {
  const used = new Set<string>();
  for (const { rule } of rules) for (const ch of rule.uri) used.add(ch);
  for (let code = 0x41; ; code++) {
    const ch = String.fromCodePoint(code);
    if (ch !== '.' && ch !== '#' && ch.trim() !== '' && !used.has(ch)) return ch;
  }
}
