import { expect } from 'chai';
import { RealmAuthorizer, type DynamicAuthorizerOptions, type InternalCall, type Principal } from '../../realms/authorizer.js';
import { RolePermissions, type Action, type Decision, type PermissionRule } from '../../realms/permissions.js';
import type { CallResult } from '../../router/dealer.js';
import { silentLogger } from '../../router/log.js';
import { WampError } from '../../router/protocol/errors.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

/**
 * RealmAuthorizer without sockets (issue 5, style.md §1.8 lesson 5): the role's static rules
 * decide wherever one matches; elsewhere the dynamic authorizer procedure is asked through a fake
 * `call`, its answers cached per (authrole, action, uri) for the TTL, identical concurrent
 * questions share one call, a failure is a deny cached only briefly, and `clear()` forgets.
 */

interface Asked {
  procedure: string;
  args: unknown[];
  kwargs: unknown;
  timeoutMs: number;
  resolve(result: CallResult): void;
  reject(error: Error): void;
}

/** A fake dealer `callInternal`: every question is recorded and answered by the test. */
class FakeCall {
  readonly asked: Asked[] = [];
  /** If set, questions are answered at once with this; otherwise they wait for the test. */
  auto: ((uri: string, action: string) => CallResult | Error) | undefined;

  readonly call: InternalCall = (procedure, args, kwargs, timeoutMs) => new Promise<CallResult>((resolve, reject) => {
    this.asked.push({ procedure, args, kwargs, timeoutMs, resolve, reject });
    if (this.auto) {
      const answer = this.auto(args[1] as string, args[2] as string);
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    }
  });

  count(uri?: string, action?: string): number {
    return this.asked.filter((a) => (uri === undefined || a.args[1] === uri) && (action === undefined || a.args[2] === action)).length;
  }
}

const FRONTEND: Principal = { id: 101, authid: 'fe', authrole: 'frontend', authmethod: 'ticket', authprovider: 'static' };
const FRONTEND2: Principal = { id: 102, authid: 'fe2', authrole: 'frontend', authmethod: 'ticket', authprovider: 'static' };
const BACKEND: Principal = { id: 201, authid: 'be', authrole: 'backend', authmethod: 'ticket', authprovider: 'static' };

const RULES: Record<string, PermissionRule[]> = {
  frontend: [
    { uri: 'com.static.', match: 'prefix', allow: { call: true, subscribe: true } },
    // A matching rule that allows nothing is a static deny: the authorizer is not asked.
    { uri: 'com.static.denied', match: 'exact', allow: {} },
  ],
  backend: [{ uri: 'com.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }],
};

function roles(): Map<string, RolePermissions> {
  return new Map(Object.entries(RULES).map(([name, rules]) => [name, new RolePermissions(rules)]));
}

function setup(options: { ttlMs?: number; timeoutMs?: number; maxEntries?: number; dynamic?: boolean } = {}) {
  const fake = new FakeCall();
  const dynamic: DynamicAuthorizerOptions = {
    procedure: 'com.example.authorize', ttlMs: options.ttlMs ?? 60_000, timeoutMs: options.timeoutMs ?? 5000,
    realm: 'realm1', call: fake.call, logger: silentLogger,
  };
  if (options.maxEntries !== undefined) dynamic.maxEntries = options.maxEntries;
  const authorizer = new RealmAuthorizer(() => roles(), () => (options.dynamic === false ? undefined : dynamic));
  return { fake, authorizer };
}

/** The decision, whether it came synchronously or after the (fake) authorizer answered. */
async function decided(value: Decision | Promise<Decision>): Promise<Decision> {
  return withTimeout(Promise.resolve(value), 2000, 'decision');
}

const TRUE: CallResult = { args: [true] };
const FALSE: CallResult = { args: [false] };

describe('RealmAuthorizer (unit, fake call)', function () {
  describe('static rules and the dynamic authorizer', function () {
    it('lets a matching static allow decide synchronously without asking the authorizer', function () {
      const { fake, authorizer } = setup();
      const decision = authorizer.decide(FRONTEND, 'com.static.news', 'subscribe');
      expect(decision).to.not.be.instanceOf(Promise);
      expect(decision).to.deep.include({ allow: true });
      expect(fake.asked).to.have.length(0);
    });

    it('lets a matching static deny decide synchronously without asking the authorizer', function () {
      const { fake, authorizer } = setup();
      fake.auto = () => TRUE; // the authorizer would allow: it must not be consulted
      // The exact rule allows nothing; the prefix rule does not allow publish.
      for (const [uri, action] of [['com.static.denied', 'subscribe'], ['com.static.news', 'publish']] as [string, Action][]) {
        const decision = authorizer.decide(FRONTEND, uri, action);
        expect(decision, `${action} ${uri}`).to.not.be.instanceOf(Promise);
        expect(decision, `${action} ${uri}`).to.deep.include({ allow: false });
      }
      expect(fake.asked).to.have.length(0);
    });

    it('asks the authorizer only where no static rule matches, with (session details, uri, action)', async function () {
      const { fake, authorizer } = setup({ timeoutMs: 1234 });
      fake.auto = (uri) => (uri === 'com.dyn.ok' ? TRUE : FALSE);
      const pending = authorizer.decide(FRONTEND, 'com.dyn.ok', 'call');
      expect(pending, 'a dynamic decision is asynchronous').to.be.instanceOf(Promise);
      expect(await decided(pending)).to.deep.include({ allow: true });
      expect(fake.asked).to.have.length(1);
      const [asked] = fake.asked;
      expect(asked!.procedure).to.equal('com.example.authorize');
      expect(asked!.timeoutMs).to.equal(1234);
      expect(asked!.args[1]).to.equal('com.dyn.ok');
      expect(asked!.args[2]).to.equal('call');
      expect(asked!.args[0]).to.deep.include({ session: 101, authid: 'fe', authrole: 'frontend', authmethod: 'ticket', realm: 'realm1' });

      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.no', 'call'))).to.deep.include({ allow: false });
      expect(fake.asked).to.have.length(2);
    });

    it('asks for a role that has no rules at all', async function () {
      const { fake, authorizer } = setup();
      fake.auto = () => TRUE;
      const stranger: Principal = { id: 7, authid: 'x', authrole: 'nobody' };
      expect(await decided(authorizer.decide(stranger, 'com.static.news', 'subscribe'))).to.deep.include({ allow: true });
      expect(fake.count('com.static.news', 'subscribe')).to.equal(1);
    });

    it('denies synchronously where no rule matches and no authorizer is configured', function () {
      const { fake, authorizer } = setup({ dynamic: false });
      const decision = authorizer.decide(FRONTEND, 'com.dyn.ok', 'call');
      expect(decision).to.not.be.instanceOf(Promise);
      expect(decision).to.deep.include({ allow: false });
      expect(fake.asked).to.have.length(0);
    });

    it('understands true, false, {allow, disclose} (as args[0] or kwargs) and denies anything else', async function () {
      const answers: Record<string, CallResult> = {
        'a.true': { args: [true] },
        'a.false': { args: [false] },
        'a.dict': { args: [{ allow: true, disclose: true }] },
        'a.dict_nodisclose': { args: [{ allow: true }] },
        'a.dict_deny': { args: [{ allow: false, disclose: true }] },
        'a.kwargs': { args: [], kwargs: { allow: true, disclose: true } },
        'a.truthy': { args: ['yes'] },
        'a.one': { args: [1] },
        'a.empty': {},
      };
      const expected: Record<string, Decision> = {
        'a.true': { allow: true, disclose: false },
        'a.false': { allow: false, disclose: false },
        'a.dict': { allow: true, disclose: true },
        'a.dict_nodisclose': { allow: true, disclose: false },
        'a.dict_deny': { allow: false, disclose: false },
        'a.kwargs': { allow: true, disclose: true },
        'a.truthy': { allow: false, disclose: false },
        'a.one': { allow: false, disclose: false },
        'a.empty': { allow: false, disclose: false },
      };
      const { fake, authorizer } = setup();
      fake.auto = (uri) => answers[uri]!;
      for (const uri of Object.keys(answers)) {
        const decision = await decided(authorizer.decide(FRONTEND, uri, 'call'));
        expect({ allow: decision.allow, disclose: decision.disclose }, uri).to.deep.equal(expected[uri]);
      }
    });
  });

  describe('caching', function () {
    it('reuses an answer for the same (authrole, action, uri), across sessions of that role, until the TTL passes', async function () {
      const { fake, authorizer } = setup({ ttlMs: 150 });
      fake.auto = () => TRUE;
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.ok', 'call'))).to.deep.include({ allow: true });
      expect(fake.asked).to.have.length(1);

      // Cached: answered synchronously, for another session of the same role too.
      const again = authorizer.decide(FRONTEND2, 'com.dyn.ok', 'call');
      expect(again, 'cached answer is synchronous').to.not.be.instanceOf(Promise);
      expect(again).to.deep.include({ allow: true });
      expect(fake.asked).to.have.length(1);

      // Each part of the key is distinct: another action, another URI, another role are asked.
      await decided(authorizer.decide(FRONTEND, 'com.dyn.ok', 'subscribe'));
      await decided(authorizer.decide(FRONTEND, 'com.dyn.ok2', 'call'));
      await decided(authorizer.decide({ id: 9, authid: 'o', authrole: 'other' }, 'com.dyn.ok', 'call'));
      expect(fake.asked).to.have.length(4);
      expect(fake.count('com.dyn.ok', 'call')).to.equal(2); // the 'other' role's question

      // After the TTL the first question is asked again.
      await sleep(200);
      const expired = authorizer.decide(FRONTEND, 'com.dyn.ok', 'call');
      expect(expired, 'an expired answer is not reused').to.be.instanceOf(Promise);
      await decided(expired);
      expect(fake.count('com.dyn.ok', 'call')).to.equal(3);
    });

    it('with ttlMs 0 asks on every decision', async function () {
      const { fake, authorizer } = setup({ ttlMs: 0 });
      fake.auto = () => TRUE;
      for (let i = 0; i < 3; i++) {
        const decision = authorizer.decide(i % 2 ? FRONTEND2 : FRONTEND, 'com.dyn.ok', 'call');
        expect(decision).to.be.instanceOf(Promise);
        expect(await decided(decision)).to.deep.include({ allow: true });
      }
      expect(fake.asked).to.have.length(3);
    });

    it('shares one call between concurrent identical questions', async function () {
      const { fake, authorizer } = setup({ ttlMs: 0 }); // no cache: only in-flight sharing can explain one call
      const a = authorizer.decide(FRONTEND, 'com.dyn.ok', 'call');
      const b = authorizer.decide(FRONTEND2, 'com.dyn.ok', 'call');
      const other = authorizer.decide(FRONTEND, 'com.dyn.ok', 'register');
      expect(fake.count('com.dyn.ok', 'call')).to.equal(1);
      expect(fake.count('com.dyn.ok', 'register')).to.equal(1);
      for (const asked of fake.asked) asked.resolve(asked.args[2] === 'call' ? TRUE : FALSE);
      const [da, db, dother] = await Promise.all([decided(a), decided(b), decided(other)]);
      expect(da).to.deep.include({ allow: true });
      expect(db).to.deep.include({ allow: true });
      expect(dother).to.deep.include({ allow: false });

      // Once settled (ttl 0) the next question is a new call.
      fake.auto = () => TRUE;
      await decided(authorizer.decide(FRONTEND, 'com.dyn.ok', 'call'));
      expect(fake.count('com.dyn.ok', 'call')).to.equal(2);
    });

    it('treats a failure or timeout as deny and caches it only briefly (≤ 1 s), while an allow stays for the TTL', async function () {
      this.timeout(5000);
      const { fake, authorizer } = setup({ ttlMs: 60_000 });
      fake.auto = (uri) => {
        if (uri === 'com.dyn.throws') return new WampError('com.example.oops', 'authorizer crashed');
        if (uri === 'com.dyn.slow') return new WampError('wamp.error.timeout', 'call timed out');
        return TRUE;
      };
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.throws', 'call'))).to.deep.include({ allow: false });
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.slow', 'call'))).to.deep.include({ allow: false });
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.ok', 'call'))).to.deep.include({ allow: true });
      expect(fake.asked).to.have.length(3);

      // Right away, the failure is remembered (no stampede on a broken authorizer).
      expect(authorizer.decide(FRONTEND, 'com.dyn.throws', 'call')).to.deep.include({ allow: false });
      expect(fake.asked).to.have.length(3);

      // After a bit more than a second the failures are asked again, the allow is not.
      await sleep(1150);
      fake.auto = () => TRUE; // the authorizer recovered
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.throws', 'call'))).to.deep.include({ allow: true });
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.slow', 'call'))).to.deep.include({ allow: true });
      expect(authorizer.decide(FRONTEND, 'com.dyn.ok', 'call'), 'the allow is still cached').to.not.be.instanceOf(Promise);
      expect(fake.count('com.dyn.throws')).to.equal(2);
      expect(fake.count('com.dyn.slow')).to.equal(2);
      expect(fake.count('com.dyn.ok')).to.equal(1);
    });

    it('keeps a failure no longer than a TTL shorter than one second', async function () {
      const { fake, authorizer } = setup({ ttlMs: 100 });
      fake.auto = () => new Error('down');
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.x', 'call'))).to.deep.include({ allow: false });
      await sleep(150);
      fake.auto = () => TRUE;
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.x', 'call'))).to.deep.include({ allow: true });
      expect(fake.asked).to.have.length(2);
    });

    it('clear() forgets every cached answer', async function () {
      const { fake, authorizer } = setup({ ttlMs: 60_000 });
      fake.auto = () => TRUE;
      await decided(authorizer.decide(FRONTEND, 'com.dyn.a', 'call'));
      await decided(authorizer.decide(BACKEND, 'org.dyn.b', 'subscribe'));
      expect(authorizer.decide(FRONTEND, 'com.dyn.a', 'call')).to.not.be.instanceOf(Promise);
      authorizer.clear();
      fake.auto = () => FALSE; // the policy changed with the reload
      expect(await decided(authorizer.decide(FRONTEND, 'com.dyn.a', 'call'))).to.deep.include({ allow: false });
      expect(await decided(authorizer.decide(BACKEND, 'org.dyn.b', 'subscribe'))).to.deep.include({ allow: false });
      expect(fake.asked).to.have.length(4);
    });

    // A reload calls clear() (realm.reconfigure); a question in flight at that moment was asked
    // under the old roles/authorizer and must not decide anything after it.
    it('clear(): a decision asked afterwards does not join a question asked before it', async function () {
      const { fake, authorizer } = setup({ ttlMs: 60_000 });
      const before = authorizer.decide(FRONTEND, 'com.dyn.a', 'call');
      expect(fake.asked).to.have.length(1);
      authorizer.clear();
      const after = authorizer.decide(FRONTEND, 'com.dyn.a', 'call');
      // Settle whatever was asked so nothing dangles, whatever the outcome.
      fake.asked[0]!.resolve(TRUE); // the pre-clear answer
      fake.asked[1]?.resolve(FALSE); // the post-clear answer, if it was asked
      await decided(before);
      const decision = await decided(after);
      expect(fake.asked.length, 'questions asked (1 = the post-clear decision shared the pre-clear call)').to.equal(2);
      expect(decision, 'the post-clear decision').to.deep.include({ allow: false });
    });

    it('clear(): the late answer to a question asked before it is not cached', async function () {
      const { fake, authorizer } = setup({ ttlMs: 60_000 });
      const before = authorizer.decide(FRONTEND, 'com.dyn.a', 'call');
      authorizer.clear();
      fake.asked[0]!.resolve(TRUE);
      expect(await decided(before)).to.deep.include({ allow: true }); // it answers its own question
      fake.auto = () => FALSE; // the policy after the reload
      const next = authorizer.decide(FRONTEND, 'com.dyn.a', 'call');
      const decision = await decided(next);
      expect(next instanceof Promise, 'the next decision asks again instead of reusing the pre-clear answer').to.equal(true);
      expect(decision).to.deep.include({ allow: false });
      expect(fake.asked).to.have.length(2);
    });

    it('stays bounded: past maxEntries older answers are dropped and asked again', async function () {
      const { fake, authorizer } = setup({ ttlMs: 60_000, maxEntries: 2 });
      fake.auto = () => TRUE;
      for (const uri of ['com.dyn.1', 'com.dyn.2', 'com.dyn.3']) await decided(authorizer.decide(FRONTEND, uri, 'call'));
      expect(fake.asked).to.have.length(3);
      await decided(authorizer.decide(FRONTEND, 'com.dyn.1', 'call'));
      expect(fake.count('com.dyn.1'), 'cache holds at most 2 answers').to.equal(2);
    });
  });

  it('does not leave a question in flight once it settled', async function () {
    const { fake, authorizer } = setup({ ttlMs: 0 });
    const pending = authorizer.decide(FRONTEND, 'com.dyn.a', 'call');
    fake.asked[0]!.reject(new Error('boom'));
    expect(await decided(pending)).to.deep.include({ allow: false });
    await waitFor(() => (authorizer as unknown as { inflight: Map<string, unknown> }).inflight.size === 0, { timeoutMs: 1000, what: 'in-flight map empty' });
  });
});
