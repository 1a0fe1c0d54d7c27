// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { probe, runPythonScript, type PyRun } from '../helpers/python.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Interop with Autobahn|Python (Debian's python3-autobahn, for /usr/bin/python3 — not whatever
 * python3 is first on PATH). The Python half lives in test/interop/python_client.py; it prints one
 * JSON line. Needs: python3-autobahn (suite skipped without it), python3-msgpack for the msgpack
 * block, python3-cbor2 for the cbor block.
 */

/** This file runs from dist/test/interop/; the .py is not compiled, so resolve it from the repo root. */
const SCRIPT = fileURLToPath(new URL('../../../test/interop/python_client.py', import.meta.url));
const KILL_AFTER_MS = 20_000;
const BLOB_HEX = '0001027f80feff';
const BLOB = Buffer.from(BLOB_HEX, 'hex');

/**
 * Probes for each Python serializer. json must work wherever autobahn imports (a failure fails the
 * tests); msgpack and cbor blocks are skipped, with the reason, when python3-msgpack or
 * python3-cbor2 is missing.
 */
const PY_SERIALIZER_PROBE: Record<SerializerName, string> = {
  json: 'import txaio; txaio.use_asyncio(); import autobahn.wamp.serializer as s; s.JsonSerializer()',
  msgpack: 'import txaio; txaio.use_asyncio(); import autobahn.wamp.serializer as s; s.MsgPackSerializer()',
  cbor: 'import txaio; txaio.use_asyncio(); import autobahn.wamp.serializer as s; s.CBORSerializer()',
};
const PY_SERIALIZER_PACKAGE: Record<SerializerName, string> = { json: 'python3-autobahn', msgpack: 'python3-msgpack', cbor: 'python3-cbor2' };
/**
 * The autobahn-js peer's serializer for each Python serializer: always a different one, so every
 * run also crosses serializers, binary included (python json ↔ js msgpack, msgpack ↔ cbor, cbor ↔ json).
 */
const JS_PEER: Record<SerializerName, SerializerName> = { json: 'msgpack', msgpack: 'cbor', cbor: 'json' };

/**
 * Bytes as an autobahn-js peer on `ser` sees them: a Uint8Array on msgpack/cbor; on JSON the
 * wamp-spec §11.2 string "\u0000" + base64, since autobahn-js's JSON serializer does not convert.
 */
function jsBytes(value: unknown, ser: SerializerName): string {
  if (ser === 'json') {
    expect(value, 'JSON binary string').to.be.a('string');
    expect((value as string).charCodeAt(0), 'JSON binary marker').to.equal(0);
    return Buffer.from((value as string).slice(1), 'base64').toString('hex');
  }
  expect(value, 'binary value').to.be.instanceOf(Uint8Array);
  return Buffer.from(value as Uint8Array).toString('hex');
}

/** A bytes value for an autobahn-js peer on `ser` to send. */
function toJsBytes(bytes: Buffer, ser: SerializerName): unknown {
  return ser === 'json' ? '\u0000' + bytes.toString('base64') : bytes;
}

describe('interop with Autobahn|Python', function () {
  this.timeout(KILL_AFTER_MS + 10_000);
  let tr: TestRouter;
  let clients: AbClient[];
  let children: ChildProcess[];

  before(async function () {
    this.timeout(15_000);
    const autobahnPy = await probe('import autobahn');
    if (!autobahnPy.ok) {
      console.log(`      skipping Autobahn|Python interop: ${autobahnPy.why} (apt-get install -y python3-autobahn)`);
      this.skip();
    }
    expect(existsSync(SCRIPT), SCRIPT).to.equal(true);
  });

  beforeEach(async function () {
    clients = [];
    children = [];
    tr = await startRouter();
  });

  afterEach(async function () {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const client of clients) await client.close().catch(() => undefined);
    if (tr) {
      await tr.stop();
      expect(tr.router.connectionCount).to.equal(0);
    }
  });

  async function connect(serializer: SerializerName, options: Record<string, unknown> = {}): Promise<AbClient> {
    const client = await connectAutobahn(tr.url, serializer, options);
    clients.push(client);
    return client;
  }

  /** Start the Python client; it is SIGKILLed after KILL_AFTER_MS so a hang fails the test. */
  function runPython(scenario: string, serializer: SerializerName): Promise<PyRun> {
    return runPythonScript([SCRIPT, tr.url, 'realm1', scenario, serializer], children, KILL_AFTER_MS);
  }

  /** The run must have succeeded; on failure the message carries the script's own output. */
  function expectOk(run: PyRun): Record<string, any> {
    const context = `python exit ${run.code} ${run.signal ?? ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr.slice(-3000)}`;
    expect(run.result.ok, context).to.equal(true);
    expect(run.code, context).to.equal(0);
    return run.result;
  }

  function expectWelcome(result: Record<string, any>, serializer: SerializerName): void {
    const welcome = result.welcome;
    expect(welcome.realm).to.equal('realm1');
    expect(welcome.authrole).to.equal('anonymous');
    expect(welcome.authmethod).to.equal('anonymous');
    expect(welcome.authprovider).to.equal('static');
    expect(welcome.authid).to.be.a('string').and.not.equal('');
    expect(welcome.serializer).to.equal(serializer);
    expect(welcome.session).to.be.within(1, 2 ** 53);
    expect(welcome.broker_features).to.include.members(['publisher_exclusion', 'publisher_identification']);
    expect(welcome.dealer_features).to.include.members(['caller_identification', 'progressive_call_results']);
  }

  for (const pySer of ['json', 'msgpack', 'cbor'] as SerializerName[]) {
    const jsSer = JS_PEER[pySer];

    describe(`python ${pySer} ↔ autobahn-js ${jsSer}`, function () {
      before(async function () {
        this.timeout(15_000);
        const available = await probe(PY_SERIALIZER_PROBE[pySer]);
        if (!available.ok) {
          // JSON is the baseline every Autobahn|Python has: never skip it.
          expect(pySer, available.why).to.not.equal('json');
          console.log(`      skipping python ${pySer}: ${available.why} (apt-get install -y ${PY_SERIALIZER_PACKAGE[pySer]})`);
          this.skip();
        }
      });

      it('python calls an autobahn-js callee with args and kwargs, and gets its errors', async function () {
        const callee = await connect(jsSer, { on_user_error: () => undefined });
        const invocations: { args: unknown[]; kwargs: Record<string, unknown> }[] = [];
        await callee.session.register('com.interop.js.echo', (args: unknown[], kwargs: Record<string, unknown>) => {
          invocations.push({ args, kwargs });
          return new autobahn.Result(args, kwargs);
        });
        await callee.session.register('com.interop.js.fail', (args: unknown[]) => {
          throw new autobahn.Error('com.interop.error.js', args, { w: 1 });
        });

        const result = expectOk(await runPython('call', pySer));
        expectWelcome(result, pySer);
        const sent = [1, 'two', { three: 3 }, 123456789012, 2.5, null, true];
        expect(invocations).to.have.length(1);
        expect(invocations[0]!.args.slice(0, sent.length)).to.deep.equal(sent);
        expect(invocations[0]!.kwargs).to.deep.equal({ who: 'python', nested: { a: [1, 2] } });
        expect(invocations[0]!.args).to.have.length(sent.length + 1);
        expect(jsBytes(invocations[0]!.args[sent.length], jsSer)).to.equal(BLOB_HEX);
        // The JS callee echoed the value as it got it: python must get bytes back.
        expect(result.result_args).to.deep.equal([...sent, { __bytes_hex__: BLOB_HEX }]);
        expect(result.result_kwargs).to.deep.equal({ who: 'python', nested: { a: [1, 2] } });
        expect(result.fail_error).to.deep.equal({ uri: 'com.interop.error.js', args: [7], kwargs: { w: 1 } });
        expect(result.missing_error).to.equal('wamp.error.no_such_procedure');
        expect(result.leave_reason).to.be.oneOf(['wamp.close.goodbye_and_out', 'wamp.close.normal']);
      });

      it('autobahn-js calls procedures registered by python', async function () {
        const caller = await connect(jsSer);
        const running = runPython('register', pySer);
        const dealer = tr.router.realms.get('realm1')!.dealer;
        await Promise.race([
          waitFor(() => dealer.registrationCount === 3, { timeoutMs: 12_000, what: 'python registrations' }),
          running.then((run) => { throw new Error(`python exited early: ${run.stdout} ${run.stderr.slice(-2000)}`); }),
        ]);

        const sum = await withTimeout(caller.session.call('com.interop.py.add', [2, 3, 'x'], { k: 'v', n: [1] }), 5000, 'call add');
        expect(sum).to.be.instanceOf(autobahn.Result);
        expect(sum.args[0]).to.equal(5);
        expect(sum.args).to.have.length(2);
        expect(jsBytes(sum.args[1], jsSer)).to.equal(BLOB_HEX);
        expect(sum.kwargs).to.deep.equal({ py: true, echo: { k: 'v', n: [1] } });

        let failure: any;
        try {
          await withTimeout(caller.session.call('com.interop.py.fail', ['a', 1], { q: true }), 5000, 'call fail');
        } catch (error) {
          failure = error;
        }
        expect(failure, 'python error').to.be.instanceOf(autobahn.Error);
        expect(failure.error).to.equal('com.interop.error.py');
        expect(failure.args).to.deep.equal(['bad input', 'a', 1]);
        expect(failure.kwargs).to.deep.equal({ reason: 'python says no' });

        expect(await withTimeout(caller.session.call('com.interop.py.stop'), 5000, 'call stop')).to.equal('bye');
        const result = expectOk(await running);
        expectWelcome(result, pySer);
        expect(result.invocations).to.deep.equal([{ args: [2, 3, 'x'], kwargs: { k: 'v', n: [1] } }]);
        await waitFor(() => dealer.registrationCount === 0, { what: 'python registrations removed' });
      });

      it('python subscribes and receives autobahn-js publications', async function () {
        const publisher = await connect(jsSer);
        const running = runPython('subscribe', pySer);
        const broker = tr.router.realms.get('realm1')!.broker;
        await Promise.race([
          waitFor(() => broker.subscriptionCount === 1, { timeoutMs: 12_000, what: 'python subscription' }),
          running.then((run) => { throw new Error(`python exited early: ${run.stdout} ${run.stderr.slice(-2000)}`); }),
        ]);
        publisher.session.publish('com.interop.js.topic', ['first', 1, { deep: [true] }], { n: 1 });
        const lastArgs: unknown[] = ['second', toJsBytes(BLOB, jsSer)];
        await withTimeout(publisher.session.publish('com.interop.js.topic', lastArgs, { last: true }, { acknowledge: true })!, 5000, 'PUBLISHED');
        const result = expectOk(await running);
        expectWelcome(result, pySer);
        expect(result.events).to.deep.equal([
          { args: ['first', 1, { deep: [true] }], kwargs: { n: 1 } },
          { args: ['second', { __bytes_hex__: BLOB_HEX }], kwargs: { last: true } },
        ]);
        await waitFor(() => broker.subscriptionCount === 0, { what: 'python subscription removed' });
      });

      it('autobahn-js subscribes and receives python publications', async function () {
        const subscriber = await connect(jsSer);
        const events: { args: unknown[]; kwargs: Record<string, unknown>; details: any }[] = [];
        await subscriber.session.subscribe('com.interop.py.topic', (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
          events.push({ args, kwargs, details });
        });
        const result = expectOk(await runPython('publish', pySer));
        expectWelcome(result, pySer);
        await waitFor(() => events.length === 1, { what: 'python event' });
        const [event] = events;
        expect(event!.args.slice(0, 3)).to.deep.equal(['from python', 42, { x: [1, 2] }]);
        expect(event!.args).to.have.length(4);
        expect(jsBytes(event!.args[3], jsSer)).to.equal(BLOB_HEX);
        expect(event!.kwargs).to.deep.equal({ who: 'python' });
        expect(result.publication).to.be.within(1, 2 ** 53);
        expect(event!.details.publication).to.equal(result.publication);
      });
    });
  }
});
