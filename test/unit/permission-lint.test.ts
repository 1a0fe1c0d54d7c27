import { expect } from 'chai';
import fc from 'fast-check';
import { describeFinding, lintConfig, lintRules, type PermissionFinding } from '../../realms/permission-lint.js';
import type { Action, PermissionRule } from '../../realms/permissions.js';
import { compareRanks, rankOf } from '../../realms/rule-precedence.js';
import { validateConfig } from '../../router/config.js';
import { createLogger } from '../../router/log.js';
import { createRouter } from '../../router/server.js';
import { decidingRules, oracleDecide } from '../helpers/permission-oracle.js';

/** Issue 13 item 1: `--check-config` reports shadowed rules and narrower rules overridden at a tie. */

const at = (i: number) => `/realms/0/roles/0/permissions/${i}`;
const lint = (rules: PermissionRule[]) => lintRules(rules.map((rule, i) => ({ path: at(i), rule })));
const summary = (f: PermissionFinding) => (f.kind === 'shadowed'
  ? { kind: f.kind, rule: f.rule.path, by: f.by.map((b) => b.path) }
  : { kind: f.kind, narrower: f.narrower.path, broader: f.broader.path, actions: f.actions });

describe('permission lint', () => {
  it('reports a rule that always loses, naming the rules that outrank it', () => {
    const findings = lint([
      { uri: 'app.x', match: 'wildcard', allow: { call: true } },
      { uri: 'app.', match: 'prefix', allow: { call: true } },
      { uri: 'app.x', match: 'exact', allow: {} },
    ]);
    expect(findings.map(summary)).to.deep.equal([{ kind: 'shadowed', rule: at(0), by: [at(2)] }]);
    expect(describeFinding(findings[0]!)).to.equal(
      `${at(0)} (wildcard "app.x") never decides: ${at(2)} (exact "app.x") always outranks it`);
  });

  it('reports nothing for the README example kind of rules: every narrower rule wins', () => {
    expect(lint([
      { uri: 'app.', match: 'prefix', allow: { call: true, subscribe: true } },
      { uri: 'app.admin.', match: 'prefix', allow: {} },
      { uri: 'app..private', match: 'wildcard', allow: {} },
      { uri: 'app.chat.post', match: 'exact', allow: { call: true, publish: true } },
      { uri: '', match: 'prefix', allow: { call: true } },
      { uri: '..', match: 'wildcard', allow: { subscribe: true } },
    ])).to.deep.equal([]);
  });

  it('reports a narrower rule overridden at a tie: a wildcard without empty components under the same prefix', () => {
    const findings = lint([
      { uri: 'app.admin', match: 'prefix', allow: { call: false, subscribe: true } },
      { uri: 'app.admin', match: 'wildcard', allow: { call: true, subscribe: true } },
    ]);
    expect(findings.map(summary)).to.deep.equal([{ kind: 'overridden', narrower: at(1), broader: at(0), actions: ['call'] }]);
    expect(describeFinding(findings[0]!)).to.equal(`${at(1)} (wildcard "app.admin") is narrower than ${at(0)} (prefix "app.admin")`
      + ' but ties with it (same literal components and uri length), so on its URIs: call denied');
  });

  it('reports disclosure added by a broader rule at a tie', () => {
    const findings = lint([
      { uri: 'svc.', match: 'wildcard', allow: { call: true } },
      { uri: 'svc.', match: 'prefix', allow: { call: true }, disclose: { caller: true } },
    ]);
    expect(findings.map(summary)).to.deep.equal([{ kind: 'overridden', narrower: at(0), broader: at(1), actions: ['call'] }]);
    expect(describeFinding(findings[0]!)).to.match(/call disclosed$/);
  });

  it('names rules of every realm and role by JSON path', () => {
    const role = (permissions: PermissionRule[]) => ({ name: 'r', permissions });
    const findings = lintConfig({
      realms: [
        { roles: [role([])] },
        { roles: [role([]), role([{ uri: 'a', match: 'exact', allow: {} }, { uri: 'a', match: 'wildcard', allow: { call: true } }])] },
      ],
    });
    expect(findings.map(summary)).to.deep.equal([
      { kind: 'shadowed', rule: '/realms/1/roles/1/permissions/1', by: ['/realms/1/roles/1/permissions/0'] },
    ]);
  });

  it('the router logs each finding as a warn line at start and on reload', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(JSON.parse(line)) });
    const permissions = [{ uri: 'a.b', match: 'wildcard', allow: { call: true } }, { uri: 'a.b', match: 'exact', allow: {} }];
    const config = validateConfig({ listeners: [], realms: [{ name: 'realm1', roles: [{ name: 'web', permissions }] }] });
    const router = createRouter(config, { logger });
    try {
      const warnings = () => lines.filter((l) => l.event === 'config.permission_rule');
      expect(warnings().map((l) => [l.level, l.kind, l.rule])).to.deep.equal([['warn', 'shadowed', '/realms/0/roles/0/permissions/0']]);
      expect(warnings()[0]!.message).to.include('/realms/0/roles/0/permissions/1');
      router.reload(config);
      expect(warnings()).to.have.length(2);
    } finally {
      await router.close();
    }
  });

  describe('properties (checked through the README oracle on sample URIs)', () => {
    const component = fc.constantFrom('app', 'us', 'user', 'private');
    const concreteUri = fc.array(component, { minLength: 1, maxLength: 3 }).map((cs) => cs.join('.'));
    const rule: fc.Arbitrary<PermissionRule> = fc.tuple(
      fc.oneof(
        concreteUri.map((uri) => ({ uri, match: 'exact' as const })),
        fc.tuple(concreteUri, fc.nat()).map(([u, n]) => ({ uri: u.slice(0, n % (u.length + 1)), match: 'prefix' as const })),
        fc.array(fc.constantFrom('app', 'us', 'user', ''), { minLength: 1, maxLength: 3 }).map((cs) => ({ uri: cs.join('.'), match: 'wildcard' as const })),
      ),
      fc.record({ call: fc.boolean(), subscribe: fc.boolean() }, { requiredKeys: [] }),
    ).map(([shape, allow]) => ({ ...shape, allow }));

    /**
     * URIs a rule matches: its own text with empty components filled, and continuations of a
     * prefix, using tokens from the rules' alphabet and one (`zz`) from outside it.
     */
    function samples(r: PermissionRule): string[] {
      const fills = ['zz', 'app', 'us', 'user', 'private'];
      if (r.match === 'exact') return [r.uri];
      if (r.match === 'wildcard') return fills.map((f) => r.uri.split('.').map((c) => (c === '' ? f : c)).join('.'));
      return fills.flatMap((f) => [0, 1, 2, 3, 4].map((k) => r.uri + f + `.${f}`.repeat(k)));
    }
    const decidesAt = (rules: PermissionRule[], r: PermissionRule, uri: string) => decidingRules(rules, uri).includes(r);

    it('a reported shadowed rule decides nowhere; an unreported one decides somewhere', () => {
      fc.assert(fc.property(fc.array(rule, { maxLength: 8 }), (rules) => {
        const shadowed = new Set(lint(rules).filter((f) => f.kind === 'shadowed').map((f) => (f as { rule: { path: string } }).rule.path));
        rules.forEach((r, i) => {
          const somewhere = samples(r).some((uri) => decidesAt(rules, r, uri));
          expect(somewhere, `${at(i)} ${r.match} ${JSON.stringify(r.uri)} in ${JSON.stringify(rules)}`).to.equal(!shadowed.has(at(i)));
        });
      }), { seed: 13, numRuns: 500 });
    });

    it('a reported override really changes the narrower rule\'s decision, and only at a tie', () => {
      fc.assert(fc.property(fc.array(rule, { maxLength: 6 }), (rules) => {
        for (const f of lint(rules)) {
          if (f.kind !== 'overridden') continue;
          const [narrow, broad] = [f.narrower.rule, f.broader.rule];
          expect(compareRanks(rankOf(narrow), rankOf(broad))).to.equal(0);
          for (const uri of samples(narrow)) {
            for (const action of f.actions as Action[]) {
              expect(oracleDecide([narrow, broad], uri, action), `${action} ${uri}`).to.not.deep.equal(oracleDecide([narrow], uri, action));
            }
          }
        }
      }), { seed: 13, numRuns: 500 });
    });

    it('a rule whose URIs are a strict subset of another\'s never ranks below it (narrower wins or ties)', () => {
      fc.assert(fc.property(rule, rule, (narrow, broad) => {
        const within = (a: PermissionRule, b: PermissionRule) => samples(a).every((uri) => oracleDecide([{ ...b, allow: { call: true } }], uri, 'call').allow);
        // Equal sets (an exact rule and the same text as a wildcard) are not "narrower".
        if (within(narrow, broad) && !within(broad, narrow)) expect(compareRanks(rankOf(narrow), rankOf(broad)), `${JSON.stringify(narrow)} ⊆ ${JSON.stringify(broad)}`).to.be.at.least(0);
      }), { seed: 13, numRuns: 2000 });
    });
  });
});
