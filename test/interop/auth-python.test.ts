import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { deriveKey } from '../../auth/crypto.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { probe, runPythonScript, type PyRun } from '../helpers/python.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

/**
 * Authentication interop with Autobahn|Python (Debian's python3-autobahn for /usr/bin/python3):
 * WAMP-CRA plain and salted (AuthWampCra derives the PBKDF2 key itself), ticket, and cryptosign
 * (needs PyNaCl). The Python half is test/interop/python_auth_client.py; credentials go to it in
 * the environment, and it prints one JSON line with the WELCOME details.
 */

/** This file runs from dist/test/interop/; the .py is not compiled, so resolve it from the repo root. */
const SCRIPT = fileURLToPath(new URL('../../../test/interop/python_auth_client.py', import.meta.url));
const KILL_AFTER_MS = 20_000;

const PETER_SECRET = 'py-peter-secret-Ab12';
const SALLY_PASSWORD = 'py-sally-password-Cd34';
const SALLY_SALT = 'py-sally-salt';
const LEGACY_PASSWORD = 'py-legacy-password-Ef56';
const JOE_TICKET = 'py-joe-ticket-Gh78';
const CAROL_SEED = createHash('sha256').update('python carol seed').digest();
const CAROL_PUB = Buffer.from(nacl.sign.keyPair.fromSeed(CAROL_SEED).publicKey).toString('hex');

const REALM = {
  name: 'realm1',
  roles: [{ name: 'frontend', permissions: [] }, { name: 'ops', permissions: [] }],
  auth: {
    wampcra: {
      users: {
        peter: { secret: PETER_SECRET, role: 'frontend' },
        sally: { key: deriveKey(SALLY_PASSWORD, SALLY_SALT, 1000, 32), salt: SALLY_SALT, iterations: 1000, keylen: 32, role: 'ops' },
        legacy: { secret: LEGACY_PASSWORD, salt: 'py-legacy-salt', iterations: 100, keylen: 16, role: 'frontend' },
      },
    },
    ticket: { users: { joe: { ticket: JOE_TICKET, role: 'frontend' } } },
    cryptosign: { users: { carol: { pubkeys: [CAROL_PUB], role: 'ops' } } },
  },
};

describe('auth interop with Autobahn|Python', function () {
  this.timeout(KILL_AFTER_MS + 10_000);
  let tr: TestRouter;
  let children: ChildProcess[];
  let hasNacl = false;
  let hasMsgpack = false;

  before(async function () {
    this.timeout(20_000);
    const autobahnPy = await probe('import autobahn');
    if (!autobahnPy.ok) {
      console.log(`      skipping Autobahn|Python auth interop: ${autobahnPy.why} (apt-get install -y python3-autobahn)`);
      this.skip();
    }
    expect(existsSync(SCRIPT), SCRIPT).to.equal(true);
    hasNacl = (await probe('import nacl.signing; import autobahn.wamp.cryptosign')).ok;
    hasMsgpack = (await probe('import txaio; txaio.use_asyncio(); import autobahn.wamp.serializer as s; s.MsgPackSerializer()')).ok;
  });

  beforeEach(async function () {
    children = [];
    tr = await startRouter({ realms: [REALM], limits: { authFailureBaseDelayMs: 0 } });
  });

  afterEach(async function () {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (tr) {
      await tr.stop();
      expect(tr.router.connectionCount).to.equal(0);
    }
  });

  /** Run the Python client; it is SIGKILLed after KILL_AFTER_MS so a hang fails the test. */
  function runPython(auth: Record<string, string>, serializer: SerializerName = 'json'): Promise<PyRun> {
    return runPythonScript([SCRIPT, tr.url, 'realm1', serializer], children, KILL_AFTER_MS, { ...process.env, SWITCHYARD_PY_AUTH: JSON.stringify(auth) });
  }

  function context(run: PyRun): string {
    return `python exit ${run.code} ${run.signal ?? ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr.slice(-3000)}`;
  }

  /** The run joined and left; returns the WELCOME details it printed. */
  function joined(run: PyRun): Record<string, any> {
    expect(run.result.ok, context(run)).to.equal(true);
    expect(run.code, context(run)).to.equal(0);
    expect(run.result.welcome.realm).to.equal('realm1');
    expect(run.result.welcome.session).to.be.within(1, 2 ** 53);
    expect(run.result.leave_reason).to.be.oneOf(['wamp.close.goodbye_and_out', 'wamp.close.normal']);
    return run.result.welcome;
  }

  function refused(run: PyRun): string {
    expect(run.result.ok, context(run)).to.equal(false);
    expect(run.result.welcome, context(run)).to.equal(undefined);
    expect(run.code, context(run)).to.equal(1);
    return run.result.leave_reason;
  }

  it('a plain WAMP-CRA user (AuthWampCra)', async function () {
    const welcome = joined(await runPython({ method: 'wampcra', authid: 'peter', secret: PETER_SECRET }));
    expect(welcome).to.include({ authid: 'peter', authrole: 'frontend', authmethod: 'wampcra', authprovider: 'static' });
  });

  it('a salted WAMP-CRA user: the config holds only the key, Autobahn|Python derives it from the password', async function () {
    const welcome = joined(await runPython({ method: 'wampcra', authid: 'sally', secret: SALLY_PASSWORD }));
    expect(welcome).to.include({ authid: 'sally', authrole: 'ops', authmethod: 'wampcra' });
  });

  it('a secret+salt user with non-default iterations and keylen (100, 16)', async function () {
    const welcome = joined(await runPython({ method: 'wampcra', authid: 'legacy', secret: LEGACY_PASSWORD }));
    expect(welcome).to.include({ authid: 'legacy', authrole: 'frontend', authmethod: 'wampcra' });
  });

  it('a salted WAMP-CRA user over msgpack', async function () {
    if (!hasMsgpack) {
      console.log('      skipping: python3-msgpack missing (apt-get install -y python3-msgpack)');
      this.skip();
    }
    const welcome = joined(await runPython({ method: 'wampcra', authid: 'sally', secret: SALLY_PASSWORD }, 'msgpack'));
    expect(welcome).to.include({ authid: 'sally', authrole: 'ops' });
  });

  it('a ticket user (AuthTicket)', async function () {
    const welcome = joined(await runPython({ method: 'ticket', authid: 'joe', ticket: JOE_TICKET }));
    expect(welcome).to.include({ authid: 'joe', authrole: 'frontend', authmethod: 'ticket', authprovider: 'static' });
  });

  it('a cryptosign user (AuthCryptoSign, PyNaCl)', async function () {
    if (!hasNacl) {
      console.log('      skipping: PyNaCl missing (apt-get install -y python3-nacl)');
      this.skip();
    }
    const welcome = joined(await runPython({ method: 'cryptosign', authid: 'carol', privkey: CAROL_SEED.toString('hex') }));
    expect(welcome).to.include({ authid: 'carol', authrole: 'ops', authmethod: 'cryptosign', authprovider: 'static' });
  });

  it('refusals reach Autobahn|Python as ABORT wamp.error.not_authorized', async function () {
    expect(refused(await runPython({ method: 'wampcra', authid: 'peter', secret: 'wrong' }))).to.equal('wamp.error.not_authorized');
    expect(refused(await runPython({ method: 'wampcra', authid: 'nobody', secret: 'x' }))).to.equal('wamp.error.not_authorized');
    expect(refused(await runPython({ method: 'ticket', authid: 'joe', ticket: 'wrong' }))).to.equal('wamp.error.not_authorized');
    if (hasNacl) {
      const stranger = createHash('sha256').update('stranger').digest('hex');
      expect(refused(await runPython({ method: 'cryptosign', authid: 'carol', privkey: stranger }))).to.equal('wamp.error.not_authorized');
    }
  });
});
