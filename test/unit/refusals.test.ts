import { expect } from 'chai';
import fc from 'fast-check';
import { DENY, LayeredAuthorizer, RealmAuthorizer, type Principal } from '../../realms/authorizer.js';
import { RolePermissions, type Action, type PermissionRule } from '../../realms/permissions.js';
import { RefusalLog, type DecidedBy } from '../../realms/refusals.js';
import { compareRanks, rankOf, ruleMatches } from '../../realms/rule-precedence.js';
import { createLogger } from '../../router/log.js';
import type { MatchPolicy } from '../../router/protocol/uri.js';

/**
 * The refusal log (issue 14.3) without a network: the per-session line budget with a fake clock,
 * and "which rule decided" from RolePermissions.explain, the realm's and the application's
 * authorizers.
 */

const ALICE: Principal = { id: 1, authid: 'alice', authrole: 'frontend' };
const BOB: Principal = { id: 2, authid: 'bob', authrole: 'frontend' };
const NO_RULE: DecidedBy = { decidedBy: 'no rule matched' };

function refusalLog(options: { isSession?: (p: Principal) => boolean } = {}) {
  let t = 1_000_000;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)), now: () => t });
  const log = new RefusalLog('realm1', logger, () => NO_RULE, options.isSession ?? (() => true), { burst: 3, perSecond: 1, now: () => t });
  const advance = (ms: number) => { t += ms; };
  const refused = (lines_: Record<string, unknown>[]) => lines_.filter((l) => l.event === 'authorization.refused');
  return { log, lines, advance, refused: () => refused(lines) };
}

describe('RefusalLog: one line per refusal, rate limited per session', function () {
  it('returns the ERROR message naming the action and URI, never the rules', function () {
    const { log } = refusalLog();
    expect(log.refused(ALICE, 'call', 'app.admin.x', DENY)).to.equal('not authorized to call app.admin.x');
    expect(log.refused(ALICE, 'publish', 'app.gone', DENY, 'testament')).to.equal('not authorized to publish app.gone (testament)');
  });

  it('logs a burst, then suppresses; the next line after the budget refills carries the suppressed count', function () {
    const { log, refused, advance } = refusalLog();
    for (let i = 0; i < 10; i++) log.refused(ALICE, 'call', `app.x${i}`, DENY);
    expect(refused().map((l) => l.uri)).to.deep.equal(['app.x0', 'app.x1', 'app.x2']);
    expect(refused().every((l) => l.level === 'info' && !('suppressed' in l))).to.equal(true);
    advance(999);
    log.refused(ALICE, 'call', 'app.late', DENY);
    expect(refused()).to.have.length(3);
    advance(1);
    log.refused(ALICE, 'call', 'app.later', DENY);
    expect(refused()).to.have.length(4);
    expect(refused()[3]).to.include({ uri: 'app.later', suppressed: 8 });
  });

  it('keeps one budget per session: a flooding session does not silence another', function () {
    const { log, refused } = refusalLog();
    for (let i = 0; i < 50; i++) log.refused(ALICE, 'call', 'app.x', DENY);
    log.refused(BOB, 'call', 'app.y', DENY);
    expect(refused().filter((l) => l.authid === 'alice')).to.have.length(3);
    expect(refused().filter((l) => l.authid === 'bob')).to.have.length(1);
  });

  it('forget() reports what a leaving session had suppressed, once, and nothing when there was none', function () {
    const { log, lines } = refusalLog();
    for (let i = 0; i < 5; i++) log.refused(ALICE, 'call', 'app.x', DENY);
    log.refused(BOB, 'call', 'app.y', DENY);
    log.forget(ALICE);
    log.forget(ALICE);
    log.forget(BOB);
    const summaries = lines.filter((l) => l.event === 'authorization.refusals_suppressed');
    expect(summaries).to.have.length(1);
    expect(summaries[0]).to.include({ level: 'info', realm: 'realm1', session: 1, authid: 'alice', authrole: 'frontend', count: 2 });
  });

  it('shares one budget among per-request principals of one authid (HTTP bridge callers are new objects each request)', function () {
    const { log, refused } = refusalLog({ isSession: () => false });
    for (let i = 0; i < 10; i++) log.refused({ id: 100 + i, authid: 'deployer', authrole: 'backend', authmethod: 'http-hmac' }, 'call', 'app.x', DENY);
    expect(refused()).to.have.length(3);
  });
});

describe('what decided a refusal', function () {
  const rules: PermissionRule[] = [
    { uri: 'app.', match: 'prefix', allow: { call: true } },
    { uri: 'app..private', match: 'wildcard', allow: {} },
    { uri: 'app.open.private', match: 'exact', allow: { call: true } },
  ];

  it('RolePermissions.explain names the rule that decides, or undefined when none matches', function () {
    const role = new RolePermissions(rules);
    expect(role.explain('app.user.private', 'call')).to.deep.equal({ uri: 'app..private', match: 'wildcard' });
    expect(role.explain('app.user.public', 'call')).to.deep.equal({ uri: 'app.', match: 'prefix' });
    expect(role.explain('app.open.private', 'call')).to.deep.equal({ uri: 'app.open.private', match: 'exact' });
    expect(role.explain('other.x', 'call')).to.equal(undefined);
  });

  it('among rules tied at the top rank, the one that denies is named (deny wins a tie)', function () {
    const role = new RolePermissions([
      { uri: 'app.a', match: 'prefix', allow: { call: true, publish: true } },
      { uri: 'app..', match: 'wildcard', allow: { call: true } },
    ]);
    // `app.a` has two literal components, `app..` one: the prefix decides, and is named.
    expect(role.explain('app.a.b', 'publish')).to.deep.equal({ uri: 'app.a', match: 'prefix' });
    // `app.xx` (prefix) and `app..q` (wildcard): two literal components and six characters each, a tie.
    const tied = new RolePermissions([
      { uri: 'app.xx', match: 'prefix', allow: { call: true } },
      { uri: 'app..q', match: 'wildcard', allow: { publish: true } },
    ]);
    expect(tied.decide('app.xx.q', 'call').allow).to.equal(false);
    expect(tied.explain('app.xx.q', 'call')).to.deep.equal({ uri: 'app..q', match: 'wildcard' });
    expect(tied.decide('app.xx.q', 'publish').allow).to.equal(false);
    expect(tied.explain('app.xx.q', 'publish')).to.deep.equal({ uri: 'app.xx', match: 'prefix' });
  });

  it('property: the named rule matches the URI, is top-ranked, and denies when the decision is a deny', function () {
    const component = fc.constantFrom('a', 'b', 'c');
    const uriOf = (parts: string[]) => parts.join('.');
    const ruleArb = fc.record({
      parts: fc.array(fc.oneof(component, fc.constant('')), { minLength: 1, maxLength: 3 }),
      match: fc.constantFrom<MatchPolicy>('exact', 'prefix', 'wildcard'),
      allow: fc.record({ call: fc.boolean() }),
    }).map(({ parts, match, allow }): PermissionRule => ({ uri: match === 'exact' ? uriOf(parts.map((p) => p || 'a')) : uriOf(parts), match, allow }));
    const uriArb = fc.array(component, { minLength: 1, maxLength: 4 }).map(uriOf);
    fc.assert(fc.property(fc.array(ruleArb, { maxLength: 6 }), uriArb, (ruleSet, uri) => {
      const role = new RolePermissions(ruleSet);
      const named = role.explain(uri, 'call');
      const matching = ruleSet.filter((r) => ruleMatches(r, uri));
      if (matching.length === 0) return named === undefined;
      expect(named, 'some rule is named').to.not.equal(undefined);
      const namedRules = matching.filter((r) => r.uri === named!.uri && r.match === named!.match);
      expect(namedRules, 'the named rule matches').to.not.have.length(0);
      for (const other of matching) expect(compareRanks(rankOf(other), rankOf(named!)), `${other.uri} outranks ${named!.uri}`).to.be.at.most(0);
      if (!role.decide(uri, 'call').allow) expect(namedRules.some((r) => r.allow.call !== true), 'a deny is explained by a denying rule').to.equal(true);
      return true;
    }), { seed: 7, numRuns: 500 });
  });

  it('the realm authorizer: a static rule, else the dynamic authorizer if configured, else no rule matched', function () {
    const roles = new Map([['frontend', new RolePermissions(rules)]]);
    const staticOnly = new RealmAuthorizer(() => roles, () => undefined);
    expect(staticOnly.explain(ALICE, 'app.u.private', 'call')).to.deep.equal({ decidedBy: 'rule', rule: { uri: 'app..private', match: 'wildcard' } });
    expect(staticOnly.explain(ALICE, 'other.x', 'call')).to.deep.equal({ decidedBy: 'no rule matched' });
    expect(staticOnly.explain({ ...ALICE, authrole: 'nobody' }, 'app.x', 'call')).to.deep.equal({ decidedBy: 'no rule matched' });
    const dynamic = new RealmAuthorizer(() => roles, () => ({
      procedure: 'com.auth', ttlMs: 0, timeoutMs: 100, realm: 'realm1', logger: createLogger({ level: 'silent' }),
      call: () => Promise.resolve({ args: [false] }),
    }));
    expect(dynamic.explain(ALICE, 'other.x', 'call')).to.deep.equal({ decidedBy: 'dynamic authorizer' });
    expect(dynamic.explain(ALICE, 'app.u.private', 'call')).to.deep.include({ decidedBy: 'rule' });
  });

  it('the application authorizer: its own denials (answer, throw) are named; where it has no opinion the realm explains', async function () {
    const roles = new Map([['frontend', new RolePermissions(rules)]]);
    const realm = new RealmAuthorizer(() => roles, () => undefined);
    const app = new LayeredAuthorizer({
      decide: (_p, uri: string, _a: Action) => {
        if (uri === 'app.throw') throw new Error('boom');
        if (uri === 'app.async') return Promise.resolve({ allow: false });
        return uri.startsWith('app.deny') ? { allow: false } : undefined;
      },
    }, realm);
    const explain = async (uri: string) => app.explain(ALICE, uri, 'call', await app.decide(ALICE, uri, 'call'));
    for (const uri of ['app.deny.x', 'app.throw', 'app.async']) expect(await explain(uri), uri).to.deep.equal({ decidedBy: 'application authorizer' });
    expect(await explain('app.u.private')).to.deep.equal({ decidedBy: 'rule', rule: { uri: 'app..private', match: 'wildcard' } });
    expect(await explain('other.x')).to.deep.equal({ decidedBy: 'no rule matched' });
  });
});
