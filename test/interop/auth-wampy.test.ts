import { expect } from 'chai';
import { createRequire } from 'node:module';
import { Wampy } from 'wampy';
import { JsonSerializer } from 'wampy/JsonSerializer.js';
import * as builtinCra from 'wampy/wampcra.js';
import WebSocket from 'ws';
import { deriveKey } from '../../auth/crypto.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { withTimeout } from '../helpers/wait.js';

/**
 * WAMP-CRA interop with wampy.js 8 and the wampy-cra 0.2 plugin (a CommonJS package without
 * types, hence createRequire). `sign(secret)` derives the PBKDF2 key itself when the CHALLENGE
 * carries a salt. In Node wampy needs the `ws` class passed in.
 */

interface WampyCraInfo { challenge: string; salt?: string; iterations?: number; keylen?: number }
const wampyCra = createRequire(import.meta.url)('wampy-cra') as {
  sign(secret: string): (method: string, info: WampyCraInfo) => string;
  signManual(key: string, challenge: string): string;
  deriveKey(secret: string, salt: string, iterations?: number, keylen?: number): string;
};

const PETER_SECRET = 'wampy-peter-secret-Jk90';
const SALLY_PASSWORD = 'wampy-sally-password-Lm12';
const SALLY_SALT = 'wampy-sally-salt';

const REALM = {
  name: 'realm1',
  roles: [{ name: 'frontend', permissions: [] }, { name: 'ops', permissions: [] }],
  auth: {
    wampcra: {
      users: {
        peter: { secret: PETER_SECRET, role: 'frontend' },
        sally: { key: deriveKey(SALLY_PASSWORD, SALLY_SALT, 1000, 32), salt: SALLY_SALT, iterations: 1000, keylen: 32, role: 'ops' },
      },
    },
  },
};

describe('auth interop with wampy + wampy-cra (json)', function () {
  let tr: TestRouter;
  let wampys: Wampy[];
  let wampyErrors: Error[];

  beforeEach(async function () {
    wampys = [];
    wampyErrors = [];
    tr = await startRouter({ realms: [REALM], limits: { authFailureBaseDelayMs: 0 } });
  });

  afterEach(async function () {
    for (const w of wampys) {
      if (w.getSessionId()) await withTimeout(w.disconnect(), 3000, 'wampy disconnect').catch(() => undefined);
    }
    await tr.stop();
    expect(tr.router.connectionCount).to.equal(0);
  });

  function wampy(options: Record<string, unknown>): Wampy {
    const client = new Wampy(tr.url, {
      realm: 'realm1',
      ws: WebSocket as any,
      serializer: new JsonSerializer() as any,
      autoReconnect: false,
      onError: (error: Error) => { wampyErrors.push(error); },
      ...options,
    });
    wampys.push(client);
    return client;
  }

  async function join(options: Record<string, unknown>): Promise<{ client: Wampy; welcome: Record<string, any> }> {
    const client = wampy(options);
    const welcome = await withTimeout(client.connect(), 5000, 'wampy connect');
    expect(wampyErrors.map(String)).to.deep.equal([]);
    return { client, welcome: welcome as Record<string, any> };
  }

  function expectJoined(client: Wampy, welcome: Record<string, any>, authid: string, authrole: string): void {
    expect(welcome).to.include({ realm: 'realm1', authid, authrole, authmethod: 'wampcra', authprovider: 'static' });
    const session = tr.router.realms.get('realm1')!.sessions.get(Number(client.getSessionId()));
    expect(session?.authid).to.equal(authid);
    expect(session?.authrole).to.equal(authrole);
  }

  it('a plain WAMP-CRA user with wampy-cra sign(secret)', async function () {
    const { client, welcome } = await join({ authid: 'peter', authmethods: ['wampcra'], onChallenge: wampyCra.sign(PETER_SECRET) });
    expectJoined(client, welcome, 'peter', 'frontend');
  });

  it('a salted WAMP-CRA user with wampy-cra sign(password): the plugin derives from the CHALLENGE salt', async function () {
    const seen: WampyCraInfo[] = [];
    const signer = wampyCra.sign(SALLY_PASSWORD);
    const { client, welcome } = await join({
      authid: 'sally', authmethods: ['wampcra'],
      onChallenge: (method: string, info: WampyCraInfo) => { seen.push(info); return signer(method, info); },
    });
    expectJoined(client, welcome, 'sally', 'ops');
    expect(seen[0]).to.include({ salt: SALLY_SALT, iterations: 1000, keylen: 32 });
  });

  it('a salted user with wampy-cra signManual(deriveKey(...)) on the CHALLENGE parameters', async function () {
    const { client, welcome } = await join({
      authid: 'sally', authmethods: ['wampcra'],
      onChallenge: (_method: string, info: WampyCraInfo) =>
        wampyCra.signManual(wampyCra.deriveKey(SALLY_PASSWORD, info.salt!, info.iterations, info.keylen), info.challenge),
    });
    expectJoined(client, welcome, 'sally', 'ops');
  });

  it('plain and salted users with wampy\'s built-in wampy/wampcra.js in authMode auto', async function () {
    const peter = await join({ authid: 'peter', authmethods: ['wampcra'], authMode: 'auto', authPlugins: { wampcra: builtinCra.sign(PETER_SECRET) } });
    expectJoined(peter.client, peter.welcome, 'peter', 'frontend');
    const sally = await join({ authid: 'sally', authmethods: ['wampcra'], authMode: 'auto', authPlugins: { wampcra: builtinCra.sign(SALLY_PASSWORD) } });
    expectJoined(sally.client, sally.welcome, 'sally', 'ops');
  });

  it('a wrong secret, or the raw password for the salted user, is refused with not_authorized', async function () {
    const attempts: Record<string, unknown>[] = [
      { authid: 'peter', authmethods: ['wampcra'], onChallenge: wampyCra.sign('not-peters') },
      { authid: 'sally', authmethods: ['wampcra'], onChallenge: (_m: string, info: WampyCraInfo) => wampyCra.signManual(SALLY_PASSWORD, info.challenge) },
      { authid: 'nobody', authmethods: ['wampcra'], onChallenge: wampyCra.sign('guess') },
    ];
    for (const options of attempts) {
      const client = wampy(options);
      let error: any;
      try {
        await withTimeout(client.connect(), 5000, 'wampy connect');
      } catch (e) {
        error = e;
      }
      expect(error, `refused: ${String(options.authid)}`).to.not.equal(undefined);
      expect(error.errorUri, String(error)).to.equal('wamp.error.not_authorized');
      expect(client.getSessionId()).to.not.be.ok;
    }
    expect(wampyErrors.map((e: any) => e.errorUri)).to.deep.equal(['wamp.error.not_authorized', 'wamp.error.not_authorized', 'wamp.error.not_authorized']);
  });
});
