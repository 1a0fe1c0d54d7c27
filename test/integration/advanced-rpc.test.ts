// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { validateConfig, type RealmConfig } from '../../router/config.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { PYTHON, probe } from '../helpers/python.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { reconfigureRealm, registeredOnEveryNode, registeringOnEveryNode, sumOverNodes } from '../helpers/topology.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';
import { expectError, within } from '../helpers/promises.js';

/**
 * Advanced RPC profile end to end (issue 6; wamp-spec §8.2–§8.10): progressive call results and
 * progressive call invocations, call timeout, call canceling (CANCEL/INTERRUPT on the wire, and an
 * Autobahn|Python callee, which announces call_canceling), shared registrations and their invoke
 * policies, pattern registrations and match precedence, caller identification, Crossbar-style
 * `concurrency`, `limits.maxPendingCallsPerSession` and registration revocation.
 *
 * "Nothing was sent" is never shown with a sleep alone: a marker CALL travels the same ordered
 * path afterwards, and the marker's INVOCATION (or RESULT) must be the very next message.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
/** Everything outside `wamp.`, plus calling the meta API and subscribing to meta events. */
const PERMS = [
  { uri: '', match: 'prefix', allow: ALL },
  { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } },
];
const LIMITS = { rateMessagesPerSecond: 0, authFailureBaseDelayMs: 0 };

function realmConfig(permissions: unknown[] = PERMS): Record<string, unknown> {
  return { name: 'realm1', roles: [{ name: 'anonymous', permissions }], auth: { anonymous: { role: 'anonymous' } } };
}

// WAMP message codes (wamp-spec §1.2).
const ABORT = 3;
const ERROR = 8;
const CALL = 48;
const CANCEL = 49;
const RESULT = 50;
const REGISTER = 64;
const REGISTERED = 65;
const UNREGISTERED = 67;
const INVOCATION = 68;
const INTERRUPT = 69;
const YIELD = 70;

// HELLO roles of raw peers, each announcing exactly the features a test needs.
const CALLER = { caller: {} };
const CALLER_CANCEL = { caller: { features: { call_canceling: true, progressive_call_results: true } } };
const CALLER_PCI = { caller: { features: { progressive_call_invocations: true, call_canceling: true } } };
const CALLEE = { callee: {} };
const CALLEE_CANCEL = { callee: { features: { call_canceling: true } } };
const CALLEE_PROGRESS = { callee: { features: { progressive_call_results: true } } };
const CALLEE_PCI = { callee: { features: { progressive_call_invocations: true, call_canceling: true } } };
const CALLEE_REVOCATION = { callee: { features: { registration_revocation: true } } };

type Msg = unknown[];

/** The next message must have this type (and, if given, this request ID at index 1). */
async function nextOf(client: RawClient, type: number, what: string, ms = 2000): Promise<Msg> {
  const message = await client.next(ms).catch((error: Error) => {
    throw new Error(`${what}: ${error.message}`);
  });
  expect(message[0], `${what}: message type of ${JSON.stringify(message)}`).to.equal(type);
  return message;
}

/** An ERROR for a CALL: [8, 48, request, details, uri, ...]. */
function expectCallError(message: Msg, request: number, uri: string, what: string): void {
  expect([message[0], message[1], message[2], message[4]], `${what}: ${JSON.stringify(message)}`).to.deep.equal([ERROR, CALL, request, uri]);
}

function clientsFor(getRouter: () => TestRouter) {
  const clients: AbClient[] = [];
  const raws: RawClient[] = [];
  return {
    clients,
    raws,
    async ab(ser: SerializerName, options: Record<string, unknown> = {}): Promise<AbClient> {
      const client = registeringOnEveryNode(getRouter(), await connectAutobahn(getRouter().url, ser, { on_user_error: () => undefined, ...options }));
      clients.push(client);
      return client;
    },
    async raw(roles: Record<string, unknown>, ser: SerializerName = 'json'): Promise<RawClient> {
      const { client } = await RawClient.joined(getRouter().url, ser, 'realm1', roles);
      raws.push(client);
      return client;
    },
    /** rawRegister, then wait until every node lists the callee (registeredOnEveryNode). */
    async register(callee: RawClient, request: number, uri: string, options: Record<string, unknown> = {}): Promise<number> {
      const id = await rawRegister(callee, request, uri, options);
      await registeredOnEveryNode(getRouter(), id);
      return id;
    },
    async closeAll(): Promise<void> {
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      for (const raw of raws.splice(0)) raw.close();
    },
  };
}

/** REGISTER on a raw callee; resolves with the registration ID. */
async function rawRegister(callee: RawClient, request: number, uri: string, options: Record<string, unknown> = {}): Promise<number> {
  callee.send([REGISTER, request, options, uri]);
  const registered = await nextOf(callee, REGISTERED, `REGISTERED ${uri}`);
  expect(registered[1]).to.equal(request);
  return registered[2] as number;
}

/**
 * The marker: `caller` calls `com.rpc.marker` (registered by `callee` as `markerReg`). The
 * callee's very next message must be the marker's INVOCATION, and the caller's very next message
 * its RESULT: nothing else was sent to either in between.
 */
async function markerThrough(caller: RawClient, callee: RawClient, markerReg: number, request: number, what: string): Promise<void> {
  caller.send([CALL, request, {}, 'com.rpc.marker', [what]]);
  const invocation = await nextOf(callee, INVOCATION, `${what}: the callee's next message is the marker INVOCATION`);
  expect(invocation[2], `${what}: marker registration`).to.equal(markerReg);
  callee.send([YIELD, invocation[1], {}, ['marker']]);
  const result = await nextOf(caller, RESULT, `${what}: the caller's next message is the marker RESULT`);
  expect(result.slice(0, 2), `${what}: marker RESULT`).to.deep.equal([RESULT, request]);
  expect(result[3], `${what}: marker payload`).to.deep.equal(['marker']);
}

// ---------------------------------------------------------------------------------------------
// autobahn-js: progressive results, timeout, shared and pattern registrations, disclosure,
// concurrency — once per serializer
// ---------------------------------------------------------------------------------------------

for (const ser of ['json', 'msgpack'] as SerializerName[]) {
  describe(`advanced RPC with autobahn-js (${ser})`, function () {
    let tr: TestRouter;
    const c = clientsFor(() => tr);
    const connect = (options: Record<string, unknown> = {}) => c.ab(ser, options);

    beforeEach(async function () {
      tr = await startRouter({ realms: [realmConfig()], limits: LIMITS });
    });

    afterEach(async function () {
      await c.closeAll();
      await tr.stop();
    });

    // ----- progressive call results -----

    it('streams progressive results, in order, to a caller that asked for receive_progress; a caller that did not gets only the final result', async function () {
      const callee = await connect();
      const seenProgressFn: boolean[] = [];
      await within(callee.session.register('com.prog.count', (args: unknown[], _kwargs: unknown, details: any) => {
        const n = args[0] as number;
        seenProgressFn.push(typeof details.progress === 'function');
        if (details.progress) for (let i = 1; i <= n; i++) details.progress([i], { step: i });
        return new autobahn.Result(['done', n]);
      }), 'register');
      const caller = await connect();

      const progress: unknown[] = [];
      const result = await within<any>(
        (caller.session.call('com.prog.count', [3], {}, { receive_progress: true }) as any).then(
          (value: unknown) => value, (error: unknown) => { throw error; }, (update: unknown) => { progress.push(update); },
        ) as Promise<any>,
        'progressive call');
      expect(result.args).to.deep.equal(['done', 3]);
      expect(progress.map((p: any) => [p.args, p.kwargs])).to.deep.equal([[[1], { step: 1 }], [[2], { step: 2 }], [[3], { step: 3 }]]);

      const plain = await within<any>(caller.session.call('com.prog.count', [3]), 'plain call');
      expect(plain.args).to.deep.equal(['done', 3]);
      // INVOCATION.Details.receive_progress only for the caller that asked (autobahn-js then builds details.progress).
      expect(seenProgressFn).to.deep.equal([true, false]);
    });

    // ----- call timeout -----

    it('answers a call to an autobahn-js callee that never answers with wamp.error.timeout after options.timeout ms, and sends it no INTERRUPT', async function () {
      const callee = await connect();
      let invoked = 0;
      await within(callee.session.register('com.to.hang', () => {
        invoked++;
        return new Promise(() => undefined); // never answers
      }), 'register hang');
      await within(callee.session.register('com.to.echo', (args: unknown[]) => args[0]), 'register echo');
      const caller = await connect();

      const started = Date.now();
      const error = await expectError(caller.session.call('com.to.hang', ['x'], {}, { timeout: 300 }), 'wamp.error.timeout', 'timed-out call');
      const elapsed = Date.now() - started;
      expect(error).to.be.instanceOf(autobahn.Error);
      expect(invoked).to.equal(1);
      expect(elapsed, 'waited about options.timeout (ms, not seconds)').to.be.within(250, 2500);
      // Across nodes the callee's node forgets the call when the caller's node tells it: wait for that.
      await waitFor(() => sumOverNodes(tr, (realm) => realm.dealer.pendingCallCount) === 0, { timeoutMs: 1000, what: 'the call forgotten on every node' });

      // autobahn-js fails its connection on INTERRUPT: the callee is still up and still serving.
      expect(await within(caller.session.call('com.to.echo', ['still here']), 'call after timeout')).to.equal('still here');
      expect(callee.session.isOpen, 'callee kept (no INTERRUPT)').to.equal(true);
      expect(caller.session.isOpen).to.equal(true);
    });

    it('returns the result of a call that is answered within its timeout, and no late timeout error follows', async function () {
      const callee = await connect();
      await within(callee.session.register('com.to.quick', (args: unknown[]) => args[0]), 'register');
      const caller = await connect();
      expect(await within(caller.session.call('com.to.quick', ['fast'], {}, { timeout: 200 }), 'call')).to.equal('fast');
      await sleep(300);
      // A stray ERROR for the completed request would make autobahn-js fail the connection.
      expect(await within(caller.session.call('com.to.quick', ['again']), 'call after the timeout span')).to.equal('again');
      expect(caller.session.isOpen).to.equal(true);
    });

    // ----- canceling with an autobahn-js callee -----

    it('cancels (mode kill) a call to an autobahn-js callee: degraded to skip, no INTERRUPT, the caller gets wamp.error.canceled', async function () {
      const callee = await connect();
      let invoked = 0;
      await within(callee.session.register('com.cx.hang', () => {
        invoked++;
        return new Promise(() => undefined);
      }), 'register');
      await within(callee.session.register('com.cx.echo', (args: unknown[]) => args[0]), 'register echo');
      const caller = await connect();
      const call = caller.session.call('com.cx.hang') as any;
      await waitFor(() => invoked === 1, { what: 'invocation' });
      // mode kill keeps the request open in autobahn-js, so the router's ERROR is what settles it.
      call.cancel({ mode: 'kill' });
      await expectError(call, 'wamp.error.canceled', 'canceled call');
      expect(await within(caller.session.call('com.cx.echo', ['alive']), 'echo')).to.equal('alive');
      expect(callee.session.isOpen, 'callee kept (no INTERRUPT)').to.equal(true);
    });

    // ----- shared registrations -----

    async function sharedCallees(n: number, uri: string, invoke: string): Promise<{ callees: AbClient[]; registrations: any[]; served: string[] }> {
      const served: string[] = [];
      const callees: AbClient[] = [];
      const registrations: any[] = [];
      for (let i = 0; i < n; i++) {
        const name = String.fromCharCode(65 + i); // A, B, C …
        const callee = await connect();
        registrations.push(await within(callee.session.register(uri, () => {
          served.push(name);
          return name;
        }, { invoke }), `register ${name} (${invoke})`));
        callees.push(callee);
      }
      return { callees, registrations, served };
    }

    async function callTimes(caller: AbClient, uri: string, n: number): Promise<unknown[]> {
      const results: unknown[] = [];
      for (let i = 0; i < n; i++) results.push(await within(caller.session.call(uri), `call ${i + 1}`));
      return results;
    }

    it('invoke single: a second registration of the procedure is refused with wamp.error.procedure_already_exists', async function () {
      const a = await connect();
      const b = await connect();
      await within(a.session.register('com.sh.single', () => 'a'), 'register a');
      await expectError(b.session.register('com.sh.single', () => 'b'), 'wamp.error.procedure_already_exists', 'second single');
      await expectError(b.session.register('com.sh.single', () => 'b', { invoke: 'roundrobin' }), 'wamp.error.procedure_already_exists', 'shared onto single');
      await within(b.session.register('com.sh.rr', () => 'b', { invoke: 'roundrobin' }), 'register b rr');
      await expectError(a.session.register('com.sh.rr', () => 'a'), 'wamp.error.procedure_already_exists', 'single onto shared');
    });

    it('invoke roundrobin cycles through the callees in registration order', async function () {
      const { served } = await sharedCallees(3, 'com.sh.rr', 'roundrobin');
      const caller = await connect();
      expect(await callTimes(caller, 'com.sh.rr', 7)).to.deep.equal(['A', 'B', 'C', 'A', 'B', 'C', 'A']);
      expect(served).to.have.length(7);
    });

    it('invoke random spreads calls over every callee', async function () {
      const { served } = await sharedCallees(3, 'com.sh.random', 'random');
      const caller = await connect();
      const results = await callTimes(caller, 'com.sh.random', 60);
      expect(results).to.have.length(60);
      // P(one callee never chosen in 60 uniform picks) = 3·(2/3)^60 ≈ 1e-10.
      expect(new Set(served)).to.deep.equal(new Set(['A', 'B', 'C']));
    });

    it('invoke first: the oldest registration serves every call; when it leaves, the next oldest takes over (hot standby)', async function () {
      const { callees } = await sharedCallees(3, 'com.sh.first', 'first');
      const caller = await connect();
      expect(await callTimes(caller, 'com.sh.first', 3)).to.deep.equal(['A', 'A', 'A']);
      await callees[0]!.close();
      expect(await callTimes(caller, 'com.sh.first', 2)).to.deep.equal(['B', 'B']);
    });

    it('invoke last: the newest registration serves every call; when it leaves, the previous one takes over (hot standby)', async function () {
      const { callees } = await sharedCallees(3, 'com.sh.last', 'last');
      const caller = await connect();
      expect(await callTimes(caller, 'com.sh.last', 3)).to.deep.equal(['C', 'C', 'C']);
      await callees[2]!.close();
      expect(await callTimes(caller, 'com.sh.last', 2)).to.deep.equal(['B', 'B']);
    });

    it('a callee leaving a shared registration leaves the others serving', async function () {
      const { callees, registrations, served } = await sharedCallees(3, 'com.sh.leave', 'roundrobin');
      const caller = await connect();
      await callTimes(caller, 'com.sh.leave', 3);
      await callees[1]!.close(); // B leaves
      served.length = 0;
      const results = await callTimes(caller, 'com.sh.leave', 4);
      expect(results.every((r) => r === 'A' || r === 'C'), JSON.stringify(results)).to.equal(true);
      for (let i = 1; i < results.length; i++) expect(results[i], `alternates: ${JSON.stringify(results)}`).to.not.equal(results[i - 1]);
      // Unregistering (not leaving) works the same way.
      await within(callees[2]!.session.unregister(registrations[2]), 'unregister C');
      expect(await callTimes(caller, 'com.sh.leave', 2)).to.deep.equal(['A', 'A']);
      await callees[0]!.close();
      await expectError(caller.session.call('com.sh.leave'), 'wamp.error.no_such_procedure', 'after the last callee left');
    });

    it('a registration with a different invoke policy is refused with wamp.error.procedure_exists_with_different_invocation_policy', async function () {
      const a = await connect();
      const b = await connect();
      await within(a.session.register('com.sh.policy', () => 'a', { invoke: 'roundrobin' }), 'register a');
      for (const invoke of ['random', 'first', 'last']) {
        await expectError(b.session.register('com.sh.policy', () => 'b', { invoke }),
          'wamp.error.procedure_exists_with_different_invocation_policy', `invoke ${invoke} onto roundrobin`);
      }
      await within(b.session.register('com.sh.policy', () => 'b', { invoke: 'roundrobin' }), 'same policy is accepted');
    });

    // ----- pattern registrations -----

    it('routes prefix and wildcard registrations with details.procedure the concrete URI', async function () {
      const callee = await connect();
      const seen: string[] = [];
      const handler = (_args: unknown[], _kwargs: unknown, details: any) => {
        seen.push(details.procedure);
        return details.procedure;
      };
      await within(callee.session.register('com.pat.', handler, { match: 'prefix' }), 'register prefix');
      await within(callee.session.register('com.wild..end', handler, { match: 'wildcard' }), 'register wildcard');
      const caller = await connect();
      expect(await within(caller.session.call('com.pat.a.b'), 'prefix call')).to.equal('com.pat.a.b');
      expect(await within(caller.session.call('com.pat.x'), 'prefix call 2')).to.equal('com.pat.x');
      expect(await within(caller.session.call('com.wild.mid.end'), 'wildcard call')).to.equal('com.wild.mid.end');
      await expectError(caller.session.call('com.wild.a.b.end'), 'wamp.error.no_such_procedure', 'wildcard needs equal component count');
      await expectError(caller.session.call('com.pa'), 'wamp.error.no_such_procedure', 'not under the prefix');
      expect(seen).to.deep.equal(['com.pat.a.b', 'com.pat.x', 'com.wild.mid.end']);
    });

    it('applies match precedence: exact beats prefix beats wildcard; longest prefix; wildcard by literal runs (spec examples)', async function () {
      const callee = await connect();
      const reg = async (uri: string, match: string) => within<any>(callee.session.register(uri, () => `${match}:${uri}`, { match }), `register ${match} ${uri}`);
      const exact = await reg('com.prec.a.b', 'exact');
      await reg('com.prec.', 'prefix');
      await reg('com.prec..b', 'wildcard');
      // Spec §8.3 examples.
      const shortPrefix = await reg('a1.b2.c3', 'prefix');
      await reg('a1.b2.c3.d4', 'prefix');
      await reg('a1.b2..d4.e5', 'wildcard');
      await reg('a1.b2.c33..e5', 'wildcard');
      await reg('a1.b2..d4.e5..g7', 'wildcard');
      await reg('a1.b2..d4..f6.g7', 'wildcard');
      const caller = await connect();
      const call = (uri: string) => within(caller.session.call(uri), `call ${uri}`);
      expect(await call('com.prec.a.b')).to.equal('exact:com.prec.a.b');
      expect(await call('com.prec.z.b'), 'prefix beats wildcard').to.equal('prefix:com.prec.');
      expect(await call('a1.b2.c3.d4.e325'), 'longest prefix').to.equal('prefix:a1.b2.c3.d4');
      // `a1.b2.c3` is a plain string prefix of `a1.b2.c33…` and would beat the wildcards: remove it.
      expect(await call('a1.b2.c33.d4.e5'), 'prefix beats wildcard').to.equal('prefix:a1.b2.c3');
      await within(callee.session.unregister(shortPrefix), 'unregister a1.b2.c3');
      expect(await call('a1.b2.c33.d4.e5'), 'first literal run longest').to.equal('wildcard:a1.b2.c33..e5');
      expect(await call('a1.b2.c88.d4.e5.f6.g7'), 'tie on the first run, the second run decides').to.equal('wildcard:a1.b2..d4.e5..g7');
      await within(callee.session.unregister(exact), 'unregister exact');
      expect(await call('com.prec.a.b'), 'without the exact registration').to.equal('prefix:com.prec.');
    });

    // ----- caller identification -----

    it('discloses the caller (caller, caller_authid, caller_authrole) on disclose_me or the callee\'s disclose_caller, and only then', async function () {
      const callee = await connect();
      const details: any[] = [];
      const record = (_a: unknown, _k: unknown, d: any) => {
        details.push({ caller: d.caller, caller_authid: d.caller_authid, caller_authrole: d.caller_authrole });
        return null;
      };
      await within(callee.session.register('com.id.plain', record), 'register plain');
      await within(callee.session.register('com.id.asks', record, { disclose_caller: true }), 'register disclose_caller');
      const caller = await connect();
      const me = { caller: caller.session.id, caller_authid: caller.details.authid, caller_authrole: 'anonymous' };
      const none = { caller: undefined, caller_authid: undefined, caller_authrole: undefined };
      await within(caller.session.call('com.id.plain'), 'plain');
      await within(caller.session.call('com.id.plain', [], {}, { disclose_me: true }), 'disclose_me');
      await within(caller.session.call('com.id.asks'), 'disclose_caller');
      expect(details).to.deep.equal([none, me, me]);
    });

    // ----- concurrency -----

    it('refuses a call beyond a callee\'s concurrency with crossbar.error.max_concurrency_reached; a shared registration uses the free callee', async function () {
      const a = await connect();
      const held: (() => void)[] = [];
      const hold = (name: string) => () => new Promise((resolve) => held.push(() => resolve(name)));
      await within(a.session.register('com.conc.one', hold('a'), { concurrency: 1 }), 'register one');
      const caller = await connect();
      const first = caller.session.call('com.conc.one');
      await waitFor(() => held.length === 1, { what: 'first invocation' });
      await expectError(caller.session.call('com.conc.one'), 'crossbar.error.max_concurrency_reached', 'second concurrent call');
      held.shift()!();
      expect(await within(first, 'first call')).to.equal('a');
      const third = caller.session.call('com.conc.one');
      await waitFor(() => held.length === 1, { what: 'third invocation' });
      held.shift()!();
      expect(await within(third, 'third call, after the first completed')).to.equal('a');

      const b = await connect();
      await within(a.session.register('com.conc.shared', hold('a'), { concurrency: 1, invoke: 'first' }), 'register shared a');
      await within(b.session.register('com.conc.shared', hold('b'), { concurrency: 1, invoke: 'first' }), 'register shared b');
      const s1 = caller.session.call('com.conc.shared');
      const s2 = caller.session.call('com.conc.shared');
      await waitFor(() => held.length === 2, { what: 'two invocations' });
      await expectError(caller.session.call('com.conc.shared'), 'crossbar.error.max_concurrency_reached', 'both callees busy');
      for (const release of held.splice(0)) release();
      expect([await within(s1, 's1'), await within(s2, 's2')]).to.deep.equal(['a', 'b']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Raw frames: progressive results, progressive call invocations, timeout, CANCEL / INTERRUPT,
// pattern details, pending-call limit, revocation
// ---------------------------------------------------------------------------------------------

for (const ser of ['json', 'msgpack'] as SerializerName[]) {
  describe(`advanced RPC on the wire (raw ${ser})`, function () {
    let tr: TestRouter;
    const c = clientsFor(() => tr);
    const raw = (roles: Record<string, unknown>) => c.raw(roles, ser);

    beforeEach(async function () {
      tr = await startRouter({ realms: [realmConfig()], limits: LIMITS });
    });

    afterEach(async function () {
      await c.closeAll();
      await tr.stop();
    });

    /** A callee (with `roles`) serving `com.rpc.slow` and the marker, and a caller. */
    async function pair(calleeRoles: Record<string, unknown>, callerRoles: Record<string, unknown> = CALLER_CANCEL) {
      const callee = await raw(calleeRoles);
      const slowReg = await c.register(callee, 1, 'com.rpc.slow');
      const markerReg = await c.register(callee, 2, 'com.rpc.marker');
      const caller = await raw(callerRoles);
      return { callee, caller, slowReg, markerReg };
    }

    /** CALL com.rpc.slow from the caller; resolves with the callee's INVOCATION. */
    async function startCall(caller: RawClient, callee: RawClient, request: number, options: Record<string, unknown> = {}): Promise<Msg> {
      caller.send([CALL, request, options, 'com.rpc.slow', [request]]);
      const invocation = await nextOf(callee, INVOCATION, `INVOCATION for call ${request}`);
      expect(invocation[4]).to.deep.equal([request]);
      return invocation;
    }

    // ----- progressive call results -----

    it('relays progressive YIELDs as RESULT {progress: true} in order to a caller with receive_progress, and drops them for one without', async function () {
      const { callee, caller } = await pair(CALLEE_PROGRESS);
      const inv = await startCall(caller, callee, 1, { receive_progress: true });
      expect(inv[3], 'INVOCATION.Details').to.include({ receive_progress: true });
      callee.send([YIELD, inv[1], { progress: true }, ['p1']]);
      callee.send([YIELD, inv[1], { progress: true }, ['p2'], { k: 2 }]);
      callee.send([YIELD, inv[1], {}, ['final']]);
      expect(await nextOf(caller, RESULT, 'progress 1')).to.deep.equal([RESULT, 1, { progress: true }, ['p1']]);
      expect(await nextOf(caller, RESULT, 'progress 2')).to.deep.equal([RESULT, 1, { progress: true }, ['p2'], { k: 2 }]);
      expect(await nextOf(caller, RESULT, 'final')).to.deep.equal([RESULT, 1, {}, ['final']]);

      const inv2 = await startCall(caller, callee, 2);
      expect(inv2[3], 'no receive_progress when the caller did not ask').to.not.have.property('receive_progress');
      callee.send([YIELD, inv2[1], { progress: true }, ['unwanted']]);
      callee.send([YIELD, inv2[1], {}, ['final2']]);
      expect(await nextOf(caller, RESULT, 'only the final result')).to.deep.equal([RESULT, 2, {}, ['final2']]);
      expect(caller.received).to.deep.equal([]);
    });

    it('does not ask a callee that did not announce progressive_call_results for progress', async function () {
      const { callee, caller } = await pair(CALLEE);
      const inv = await startCall(caller, callee, 1, { receive_progress: true });
      expect(inv[3]).to.not.have.property('receive_progress');
      callee.send([YIELD, inv[1], {}, ['ok']]);
      expect(await nextOf(caller, RESULT, 'result')).to.deep.equal([RESULT, 1, {}, ['ok']]);
    });

    // ----- progressive call invocations -----

    it('streams progressive call invocations: 3 chunks reach the same callee in order under one INVOCATION ID, progress on all but the last', async function () {
      const { callee, caller, slowReg } = await pair(CALLEE_PCI, CALLER_PCI);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.slow', ['chunk1']]);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.slow', ['chunk2'], { n: 2 }]);
      caller.send([CALL, 1, {}, 'com.rpc.slow', ['chunk3']]);
      const chunks = [
        await nextOf(callee, INVOCATION, 'chunk 1'),
        await nextOf(callee, INVOCATION, 'chunk 2'),
        await nextOf(callee, INVOCATION, 'chunk 3'),
      ];
      const id = chunks[0]![1];
      expect(chunks.map((m) => m[1]), 'one INVOCATION request ID').to.deep.equal([id, id, id]);
      expect(chunks.map((m) => m[2]), 'one registration').to.deep.equal([slowReg, slowReg, slowReg]);
      expect(chunks.map((m) => (m[3] as Record<string, unknown>).progress === true)).to.deep.equal([true, true, false]);
      expect(chunks.map((m) => m[4])).to.deep.equal([['chunk1'], ['chunk2'], ['chunk3']]);
      expect(chunks[1]![5]).to.deep.equal({ n: 2 });
      callee.send([YIELD, id, {}, ['got 3']]);
      expect(await nextOf(caller, RESULT, 'result')).to.deep.equal([RESULT, 1, {}, ['got 3']]);

      // A second progressive call gets a new INVOCATION ID and still works.
      caller.send([CALL, 2, { progress: true }, 'com.rpc.slow', ['a']]);
      caller.send([CALL, 2, {}, 'com.rpc.slow', ['b']]);
      const a = await nextOf(callee, INVOCATION, 'second call chunk 1');
      const b = await nextOf(callee, INVOCATION, 'second call chunk 2');
      expect(a[1]).to.not.equal(id);
      expect(b[1]).to.equal(a[1]);
      callee.send([YIELD, a[1], {}, ['ok']]);
      expect(await nextOf(caller, RESULT, 'second result')).to.deep.equal([RESULT, 2, {}, ['ok']]);
    });

    it('sends the chunks of a progressive invocation to the callee the first chunk chose (shared roundrobin)', async function () {
      const a = await raw(CALLEE_PCI);
      const b = await raw(CALLEE_PCI);
      await c.register(a, 1, 'com.rpc.rr', { invoke: 'roundrobin' });
      await c.register(b, 1, 'com.rpc.rr', { invoke: 'roundrobin' });
      const caller = await raw(CALLER_PCI);
      for (const chunk of ['x', 'y', 'z']) caller.send([CALL, 1, chunk === 'z' ? {} : { progress: true }, 'com.rpc.rr', [chunk]]);
      const got = [await nextOf(a, INVOCATION, 'x'), await nextOf(a, INVOCATION, 'y'), await nextOf(a, INVOCATION, 'z')];
      expect(got.map((m) => m[4])).to.deep.equal([['x'], ['y'], ['z']]);
      a.send([YIELD, got[0]![1], {}, []]);
      await nextOf(caller, RESULT, 'result');
      expect(b.received, 'the other callee got nothing').to.deep.equal([]);
    });

    it('answers a progressive invocation for a callee that did not announce the feature with wamp.error.feature_not_supported', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL, CALLER_PCI);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.slow', ['chunk1']]);
      expectCallError(await nextOf(caller, ERROR, 'refusal'), 1, 'wamp.error.feature_not_supported', 'progressive invocation');
      await markerThrough(caller, callee, markerReg, 2, 'no INVOCATION reached the callee');
      expect(caller.closeCode, 'caller session kept').to.equal(undefined);
    });

    it('aborts a caller that sends progress without announcing progressive_call_invocations (protocol_violation)', async function () {
      const { callee, caller } = await pair(CALLEE_PCI, CALLER);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.slow', ['chunk1']]);
      const abort = await nextOf(caller, ABORT, 'ABORT');
      expect(abort[2]).to.equal('wamp.error.protocol_violation');
      await caller.waitClosed();
      expect(callee.received, 'nothing reached the callee').to.deep.equal([]);
    });

    it('aborts a caller that sends progress without announcing progressive_call_invocations even when no callee is registered', async function () {
      const caller = await raw(CALLER);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.nobody', ['chunk1']]);
      const message = await caller.next();
      expect(message[0], `expected ABORT protocol_violation, got ${JSON.stringify(message)}`).to.equal(ABORT);
      expect(message[2]).to.equal('wamp.error.protocol_violation');
    });

    it('drops a progressive chunk that arrives after the callee already answered the call (no new INVOCATION)', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_PCI, CALLER_PCI);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.slow', ['chunk1']]);
      const first = await nextOf(callee, INVOCATION, 'chunk 1');
      callee.send([YIELD, first[1], {}, ['early answer']]);
      expect(await nextOf(caller, RESULT, 'early result')).to.deep.equal([RESULT, 1, {}, ['early answer']]);
      caller.send([CALL, 1, { progress: true }, 'com.rpc.slow', ['late chunk2']]);
      caller.send([CALL, 1, {}, 'com.rpc.slow', ['late chunk3']]);
      // wamp-spec §8.8: continuations arriving after completion are dropped without reply.
      caller.send([CALL, 2, {}, 'com.rpc.marker', ['marker']]);
      const before: Msg[] = [];
      for (;;) {
        const message = await callee.next();
        if (message[0] === INVOCATION && message[2] === markerReg) {
          callee.send([YIELD, message[1], {}, ['marker']]);
          break;
        }
        before.push(message);
      }
      expect(before, 'what the callee got for the late chunks (nothing expected)').to.deep.equal([]);
      expect(await nextOf(caller, RESULT, 'marker result, nothing before it')).to.deep.equal([RESULT, 2, {}, ['marker']]);
    });

    // ----- pattern registration details on the wire -----

    it('puts details.procedure in INVOCATION for pattern registrations only', async function () {
      const callee = await raw(CALLEE);
      const exact = await c.register(callee, 1, 'com.rpc.exact');
      const prefix = await c.register(callee, 2, 'com.rpc.pre.', { match: 'prefix' });
      const caller = await raw(CALLER);
      caller.send([CALL, 1, {}, 'com.rpc.exact']);
      const i1 = await nextOf(callee, INVOCATION, 'exact');
      expect(i1[2]).to.equal(exact);
      expect(i1[3]).to.not.have.property('procedure');
      caller.send([CALL, 2, {}, 'com.rpc.pre.x.y']);
      const i2 = await nextOf(callee, INVOCATION, 'prefix');
      expect(i2[2]).to.equal(prefix);
      expect(i2[3]).to.include({ procedure: 'com.rpc.pre.x.y' });
    });

    // ----- call timeout on the wire -----

    it('on timeout sends INTERRUPT killnowait to a callee that announced call_canceling, wamp.error.timeout to the caller, and ignores the late YIELD', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1, { timeout: 200 });
      const interrupt = await nextOf(callee, INTERRUPT, 'INTERRUPT on timeout');
      expect(interrupt).to.deep.equal([INTERRUPT, inv[1], { mode: 'killnowait' }]);
      expectCallError(await nextOf(caller, ERROR, 'timeout error'), 1, 'wamp.error.timeout', 'timeout');
      callee.send([YIELD, inv[1], {}, ['too late']]);
      await markerThrough(caller, callee, markerReg, 2, 'late YIELD ignored');
    });

    it('on timeout sends no INTERRUPT to a callee without call_canceling; the caller gets wamp.error.timeout', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE);
      const inv = await startCall(caller, callee, 1, { timeout: 150 });
      expectCallError(await nextOf(caller, ERROR, 'timeout error', 3000), 1, 'wamp.error.timeout', 'timeout');
      await markerThrough(caller, callee, markerReg, 2, 'no INTERRUPT');
      callee.send([YIELD, inv[1], {}, ['too late']]);
      await markerThrough(caller, callee, markerReg, 3, 'late YIELD ignored');
    });

    it('with progressive results the timeout applies between results (wamp-spec §8.5): a callee streaming faster than the timeout is not cut off', async function () {
      const { callee, caller } = await pair({ callee: { features: { progressive_call_results: true, call_canceling: true } } });
      const inv = await startCall(caller, callee, 1, { receive_progress: true, timeout: 300 });
      for (let i = 1; i <= 4; i++) {
        await sleep(150);
        callee.send([YIELD, inv[1], { progress: true }, [i]]);
      }
      await sleep(150);
      callee.send([YIELD, inv[1], {}, ['final after 750 ms']]);
      const got: Msg[] = [];
      while (got.length < 5) {
        const message = await caller.next(2000);
        got.push(message);
        if (message[0] !== RESULT || (message[2] as Record<string, unknown>).progress !== true) break;
      }
      expect(got, 'four progress results, then the final one, no timeout').to.deep.equal([
        [RESULT, 1, { progress: true }, [1]], [RESULT, 1, { progress: true }, [2]], [RESULT, 1, { progress: true }, [3]],
        [RESULT, 1, { progress: true }, [4]], [RESULT, 1, {}, ['final after 750 ms']],
      ]);
    });

    // ----- CANCEL / INTERRUPT -----

    it('CANCEL skip: the caller gets wamp.error.canceled at once, the callee no INTERRUPT, its later YIELD is discarded', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, { mode: 'skip' }]);
      expectCallError(await nextOf(caller, ERROR, 'canceled'), 1, 'wamp.error.canceled', 'skip');
      await markerThrough(caller, callee, markerReg, 2, 'skip sends no INTERRUPT');
      callee.send([YIELD, inv[1], {}, ['late']]);
      await markerThrough(caller, callee, markerReg, 3, 'the late YIELD is discarded');
    });

    it('CANCEL killnowait: the caller gets wamp.error.canceled at once, the callee INTERRUPT {mode: killnowait}, its answer is ignored', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, { mode: 'killnowait' }]);
      expectCallError(await nextOf(caller, ERROR, 'canceled'), 1, 'wamp.error.canceled', 'killnowait');
      expect(await nextOf(callee, INTERRUPT, 'INTERRUPT')).to.deep.equal([INTERRUPT, inv[1], { mode: 'killnowait' }]);
      callee.send([ERROR, INVOCATION, inv[1], {}, 'wamp.error.canceled']);
      await markerThrough(caller, callee, markerReg, 2, 'the callee answer is ignored');
    });

    it('CANCEL without a mode behaves as killnowait', async function () {
      const { callee, caller } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, {}]);
      expectCallError(await nextOf(caller, ERROR, 'canceled'), 1, 'wamp.error.canceled', 'default mode');
      expect(await nextOf(callee, INTERRUPT, 'INTERRUPT')).to.deep.equal([INTERRUPT, inv[1], { mode: 'killnowait' }]);
    });

    it('CANCEL kill: INTERRUPT {mode: kill}; the caller waits and then receives the callee\'s ERROR', async function () {
      const { callee, caller } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, { mode: 'kill' }]);
      expect(await nextOf(callee, INTERRUPT, 'INTERRUPT')).to.deep.equal([INTERRUPT, inv[1], { mode: 'kill' }]);
      await sleep(50);
      expect(caller.received, 'nothing for the caller until the callee answers').to.deep.equal([]);
      callee.send([ERROR, INVOCATION, inv[1], {}, 'com.rpc.error.stopped', ['stopped at 42%'], { at: 42 }]);
      const error = await nextOf(caller, ERROR, 'callee error');
      expect(error).to.deep.equal([ERROR, CALL, 1, {}, 'com.rpc.error.stopped', ['stopped at 42%'], { at: 42 }]);
    });

    it('CANCEL kill: a callee that finishes anyway delivers its RESULT to the caller', async function () {
      const { callee, caller } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, { mode: 'kill' }]);
      await nextOf(callee, INTERRUPT, 'INTERRUPT');
      callee.send([YIELD, inv[1], {}, ['finished anyway']]);
      expect(await nextOf(caller, RESULT, 'result')).to.deep.equal([RESULT, 1, {}, ['finished anyway']]);
    });

    for (const mode of ['skip', 'kill', 'killnowait', undefined]) {
      it(`CANCEL ${mode ?? '(no mode)'} to a callee without call_canceling: no INTERRUPT ever, the caller gets wamp.error.canceled at once`, async function () {
        const { callee, caller, markerReg } = await pair(CALLEE);
        const inv = await startCall(caller, callee, 1);
        caller.send([CANCEL, 1, mode === undefined ? {} : { mode }]);
        expectCallError(await nextOf(caller, ERROR, 'canceled'), 1, 'wamp.error.canceled', `degraded ${mode}`);
        await markerThrough(caller, callee, markerReg, 2, 'no INTERRUPT');
        callee.send([YIELD, inv[1], {}, ['late']]);
        await markerThrough(caller, callee, markerReg, 3, 'late YIELD discarded');
      });
    }

    it('ignores repeated CANCELs: one ERROR, one INTERRUPT (killnowait); one INTERRUPT and the callee\'s answer (kill)', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL);
      const inv1 = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, { mode: 'killnowait' }]);
      caller.send([CANCEL, 1, { mode: 'killnowait' }]);
      caller.send([CANCEL, 1, { mode: 'kill' }]);
      expectCallError(await nextOf(caller, ERROR, 'canceled'), 1, 'wamp.error.canceled', 'first cancel');
      expect(await nextOf(callee, INTERRUPT, 'INTERRUPT')).to.deep.equal([INTERRUPT, inv1[1], { mode: 'killnowait' }]);
      await markerThrough(caller, callee, markerReg, 2, 'repeated killnowait CANCELs ignored');

      const inv3 = await startCall(caller, callee, 3);
      caller.send([CANCEL, 3, { mode: 'kill' }]);
      caller.send([CANCEL, 3, { mode: 'kill' }]);
      caller.send([CANCEL, 3, { mode: 'killnowait' }]);
      expect(await nextOf(callee, INTERRUPT, 'INTERRUPT kill')).to.deep.equal([INTERRUPT, inv3[1], { mode: 'kill' }]);
      callee.send([ERROR, INVOCATION, inv3[1], {}, 'wamp.error.canceled']);
      expectCallError(await nextOf(caller, ERROR, 'callee answer'), 3, 'wamp.error.canceled', 'kill answer');
      await markerThrough(caller, callee, markerReg, 4, 'repeated kill CANCELs ignored');
    });

    it('ignores a CANCEL for a call that already completed or never existed', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      callee.send([YIELD, inv[1], {}, ['done']]);
      expect(await nextOf(caller, RESULT, 'result')).to.deep.equal([RESULT, 1, {}, ['done']]);
      caller.send([CANCEL, 1, { mode: 'killnowait' }]);
      caller.send([CANCEL, 999, { mode: 'kill' }]);
      await markerThrough(caller, callee, markerReg, 2, 'late CANCELs ignored');
    });

    it('a CANCEL with an unknown mode never gives one CALL two final answers', async function () {
      const { callee, caller, markerReg } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.send([CANCEL, 1, { mode: 'obliterate' }]);
      await sleep(50);
      if (caller.closeCode === undefined) {
        // The session survived (no ABORT), so the call must still end exactly once.
        callee.send([YIELD, inv[1], {}, ['result']]);
        caller.send([CALL, 2, {}, 'com.rpc.marker']);
        const marker = await nextOf(callee, INVOCATION, 'marker invocation');
        expect(marker[2]).to.equal(markerReg);
        callee.send([YIELD, marker[1], {}, []]);
        await caller.until(() => caller.received.some((m) => m[0] === RESULT && m[1] === 2), 2000, 'marker result');
      }
      const answers = caller.received.filter((m) => (m[0] === ERROR && m[2] === 1) || (m[0] === RESULT && m[1] === 1));
      expect(answers.length, `final answers to CALL 1: ${JSON.stringify(answers)}`).to.be.at.most(1);
    });

    it('interrupts (killnowait) a call-canceling callee when its caller leaves mid-call', async function () {
      const { callee, caller } = await pair(CALLEE_CANCEL);
      const inv = await startCall(caller, callee, 1);
      caller.close();
      expect(await nextOf(callee, INTERRUPT, 'INTERRUPT')).to.deep.equal([INTERRUPT, inv[1], { mode: 'killnowait' }]);
    });

    // ----- pending-call limit -----

    it('refuses the 1,001st pending call of a session with switchyard.error.too_many_pending_calls (limit 1000)', async function () {
      this.timeout(20_000);
      expect(tr.config.limits.maxPendingCallsPerSession).to.equal(1000);
      const callee = await raw(CALLEE);
      await c.register(callee, 1, 'com.rpc.never');
      const caller = await raw(CALLER);
      for (let i = 1; i <= 1001; i++) caller.send([CALL, i, {}, 'com.rpc.never', [i]]);
      const error = await nextOf(caller, ERROR, 'the refusal', 10_000);
      expectCallError(error, 1001, 'switchyard.error.too_many_pending_calls', '1,001st call');
      await callee.until(() => callee.received.length >= 1000, 10_000, '1000 invocations');
      await sleep(50);
      expect(callee.received, 'exactly 1000 invocations').to.have.length(1000);
      expect(callee.received.every((m) => m[0] === INVOCATION)).to.equal(true);
      expect(callee.received.map((m) => (m[4] as number[])[0])).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect(caller.received, 'one refusal only').to.deep.equal([]);
      // Once one call completes there is room for one more.
      const first = callee.received.shift()!;
      callee.received.length = 0;
      callee.send([YIELD, first[1], {}, ['one done']]);
      expect(await nextOf(caller, RESULT, 'result 1')).to.deep.equal([RESULT, 1, {}, ['one done']]);
      caller.send([CALL, 1002, {}, 'com.rpc.never', [1002]]);
      const invocation = await nextOf(callee, INVOCATION, 'invocation 1002');
      expect(invocation[4]).to.deep.equal([1002]);
      caller.send([CALL, 1003, {}, 'com.rpc.never', [1003]]);
      expectCallError(await nextOf(caller, ERROR, 'refusal again'), 1003, 'switchyard.error.too_many_pending_calls', 'full again');
    });

    // ----- registration revocation -----

    function reload(permissions: unknown[]): void {
      const config: RealmConfig = validateConfig({ realms: [realmConfig(permissions)] }).realms[0]!;
      reconfigureRealm(tr, config);
    }
    const WITHOUT_REV = [
      { uri: '', match: 'prefix', allow: { call: true, publish: true, subscribe: true } },
      { uri: 'com.rpc.', match: 'prefix', allow: ALL },
      { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } },
    ];

    it('revokes a registration whose permission a reload withdrew: [67, 0, {registration, reason}] to a callee announcing registration_revocation', async function () {
      const callee = await raw(CALLEE_REVOCATION);
      const revReg = await c.register(callee, 1, 'com.rev.proc');
      const markerReg = await c.register(callee, 2, 'com.rpc.marker');
      const caller = await raw(CALLER);
      reload(WITHOUT_REV);
      const revoked = await nextOf(callee, UNREGISTERED, 'revocation');
      expect(revoked.slice(0, 2)).to.deep.equal([UNREGISTERED, 0]);
      expect(revoked[2]).to.include({ registration: revReg });
      expect((revoked[2] as Record<string, unknown>).reason).to.be.a('string');
      caller.send([CALL, 1, {}, 'com.rev.proc']);
      expectCallError(await nextOf(caller, ERROR, 'no such procedure'), 1, 'wamp.error.no_such_procedure', 'revoked');
      await markerThrough(caller, callee, markerReg, 2, 'the other registration still serves');
    });

    it('removes silently the registration of a callee that did not announce registration_revocation', async function () {
      const callee = await raw(CALLEE);
      await c.register(callee, 1, 'com.rev.proc');
      const markerReg = await c.register(callee, 2, 'com.rpc.marker');
      const caller = await raw(CALLER);
      reload(WITHOUT_REV);
      caller.send([CALL, 1, {}, 'com.rev.proc']);
      expectCallError(await nextOf(caller, ERROR, 'no such procedure'), 1, 'wamp.error.no_such_procedure', 'revoked');
      await markerThrough(caller, callee, markerReg, 2, 'no UNREGISTERED was sent');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Autobahn|Python callee (announces call_canceling) receiving INTERRUPT
// ---------------------------------------------------------------------------------------------

/**
 * The Python callee, run with `python3 -c`: registers com.adv.py.slow (sleeps 30 s unless
 * interrupted) and com.adv.py.stop (leave). Prints a JSON line per event ("ready", "invoked",
 * "interrupted") and a final JSON result line; a SIGALRM hard timeout keeps it from hanging.
 */
const PY_CALLEE = String.raw`
import asyncio, json, os, signal, sys
url, realm = sys.argv[1], sys.argv[2]
R = {"ok": False, "invoked": 0, "interrupted": 0}
def out(code):
    sys.stdout.write(json.dumps({"final": R}) + "\n"); sys.stdout.flush(); os._exit(code)
def line(event):
    sys.stdout.write(json.dumps({"event": event}) + "\n"); sys.stdout.flush()
def alarm(signum, frame):
    R["error"] = "hard timeout"; out(3)
signal.signal(signal.SIGALRM, alarm)
signal.alarm(25)
import txaio
txaio.use_asyncio()
from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
from autobahn.wamp import serializer as wamp_serializer
from autobahn.wamp.exception import ApplicationError
class Callee(ApplicationSession):
    async def onJoin(self, details):
        R["callee_features"] = sorted(k for k, v in vars(self._router_roles["dealer"]).items() if v is True)
        done = asyncio.get_event_loop().create_future()
        async def slow(*args):
            R["invoked"] += 1
            line("invoked")
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                R["interrupted"] += 1
                line("interrupted")
                # Letting CancelledError propagate would send nothing: txaio (asyncio) only
                # reports Exception subclasses, and CancelledError is a BaseException since 3.8.
                raise ApplicationError("com.adv.py.error.interrupted", "interrupted by the router")
            return "finished"
        def stop():
            if not done.done():
                done.set_result(True)
            return "bye"
        await self.register(slow, "com.adv.py.slow")
        await self.register(stop, "com.adv.py.stop")
        line("ready")
        await done
        await asyncio.sleep(0.05)
        R["ok"] = True
        self.leave()
    def onLeave(self, details):
        self.disconnect()
    def onDisconnect(self):
        asyncio.get_event_loop().stop()
try:
    ApplicationRunner(url, realm, serializers=[wamp_serializer.JsonSerializer()]).run(Callee, log_level="critical")
except Exception as e:
    R["error"] = "runner failed: %r" % (e,)
out(0 if R["ok"] else 1)
`;

interface PyCallee {
  child: ChildProcess;
  events: string[];
  stderr: () => string;
  /** Resolves with the final result line once the process exits. */
  done: Promise<Record<string, any>>;
}

function startPyCallee(url: string): PyCallee {
  const child = spawn(PYTHON, ['-c', PY_CALLEE, url, 'realm1'], { timeout: 30_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] });
  const events: string[] = [];
  let stdout = '';
  let stderr = '';
  let final: Record<string, any> = { ok: false, error: 'no final line' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    let nl: number;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const text = stdout.slice(0, nl).trim();
      stdout = stdout.slice(nl + 1);
      if (!text.startsWith('{')) continue;
      const parsed = JSON.parse(text);
      if (parsed.event) events.push(parsed.event);
      if (parsed.final) final = parsed.final;
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Record<string, any>>((resolve) => child.on('close', () => resolve(final)));
  return { child, events, stderr: () => stderr, done };
}

describe('call canceling with an Autobahn|Python callee (announces call_canceling)', function () {
  this.timeout(40_000);
  let tr: TestRouter;
  let py: PyCallee | undefined;
  const c = clientsFor(() => tr);

  before(async function () {
    const { ok } = await probe('import autobahn');
    if (!ok) {
      console.log(`      skipping: ${PYTHON} cannot import autobahn (apt-get install -y python3-autobahn)`);
      this.skip();
    }
  });

  beforeEach(async function () {
    tr = await startRouter({ realms: [realmConfig()], limits: LIMITS });
    py = startPyCallee(tr.url);
    await waitFor(() => py!.events.includes('ready') || py!.child.exitCode !== null, { timeoutMs: 15_000, what: 'python callee ready' })
      .catch((error: Error) => { throw new Error(`${error.message}; stderr: ${py!.stderr().slice(-2000)}`); });
    expect(py.events, `python callee failed to start: ${py.stderr().slice(-2000)}`).to.include('ready');
  });

  afterEach(async function () {
    if (py && py.child.exitCode === null && py.child.signalCode === null) py.child.kill('SIGKILL');
    await c.closeAll();
    await tr.stop();
  });

  async function stopPython(caller: AbClient): Promise<Record<string, any>> {
    expect(await within(caller.session.call('com.adv.py.stop'), 'stop python')).to.equal('bye');
    const final = await withTimeout(py!.done, 10_000, 'python exit');
    expect(final.ok, `python result ${JSON.stringify(final)}; stderr: ${py!.stderr().slice(-2000)}`).to.equal(true);
    return final;
  }

  it('an autobahn-js caller cancels with mode kill: Python gets INTERRUPT and its answer reaches the caller', async function () {
    const caller = await c.ab('json');
    const call = caller.session.call('com.adv.py.slow', ['x']) as any;
    await waitFor(() => py!.events.includes('invoked'), { timeoutMs: 5000, what: 'python invoked' });
    call.cancel({ mode: 'kill' });
    // mode kill: the router holds the caller's ERROR until the callee answers, then forwards its answer.
    const error = await expectError(call, 'com.adv.py.error.interrupted', 'canceled call');
    expect(error.args).to.deep.equal(['interrupted by the router']);
    await waitFor(() => py!.events.includes('interrupted'), { timeoutMs: 5000, what: 'python interrupted' });
    expect(caller.session.isOpen).to.equal(true);
    const final = await stopPython(caller);
    expect(final).to.include({ invoked: 1, interrupted: 1 });
  });

  it('a raw caller cancels with killnowait: the caller gets wamp.error.canceled at once, Python is interrupted, its late ERROR is dropped', async function () {
    const caller = await c.raw(CALLER_CANCEL);
    caller.send([CALL, 1, {}, 'com.adv.py.slow', ['x']]);
    await waitFor(() => py!.events.includes('invoked'), { timeoutMs: 5000, what: 'python invoked' });
    caller.send([CANCEL, 1, { mode: 'killnowait' }]);
    expectCallError(await nextOf(caller, ERROR, 'canceled'), 1, 'wamp.error.canceled', 'killnowait');
    await waitFor(() => py!.events.includes('interrupted'), { timeoutMs: 5000, what: 'python interrupted' });
    caller.send([CALL, 2, {}, 'com.adv.py.stop']);
    expect(await nextOf(caller, RESULT, 'stop result (nothing else before it)', 5000)).to.deep.equal([RESULT, 2, {}, ['bye']]);
    const final = await withTimeout(py!.done, 10_000, 'python exit');
    expect(final).to.include({ ok: true, invoked: 1, interrupted: 1 });
  });

  it('a call timeout interrupts the Python callee (killnowait) and the caller gets wamp.error.timeout', async function () {
    const caller = await c.ab('json');
    await expectError(caller.session.call('com.adv.py.slow', [], {}, { timeout: 300 }), 'wamp.error.timeout', 'timed-out call');
    await waitFor(() => py!.events.includes('interrupted'), { timeoutMs: 5000, what: 'python interrupted' });
    const final = await stopPython(caller);
    expect(final).to.include({ invoked: 1, interrupted: 1 });
  });
});
