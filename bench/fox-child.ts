import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { deriveKey } from '../auth/crypto.js';
import { CRA_USER } from './lib/constants.js';
import { serve } from './lib/ipc.js';

/**
 * The peer router, fox-wamp (installed by the bench under bench/.peers), in its own process,
 * with two listeners on 127.0.0.1: one open (anonymous; fox-wamp admits everyone when no auth
 * handler is set) and one with a WAMP-CRA auth handler written for the bench the way fox-wamp's
 * `bin/with_auth.js` shows: `wampcra_extra` builds the challenge, `wampcra_auth` checks the
 * signature. Like Switchyard's, it keeps the PBKDF2-derived key and only HMACs per login.
 * fox-wamp speaks wamp.2.json only.
 */

const peersDir = process.argv[2];
if (!peersDir) throw new Error('usage: fox-child.js <bench/.peers dir>');
const require = createRequire(join(peersDir, 'package.json'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const FoxRouter = require('fox-wamp') as any;

const key = deriveKey(CRA_USER.secret, CRA_USER.salt, CRA_USER.iterations, CRA_USER.keylen);
const challenges = new WeakMap<object, string>();

const craHandler = {
  getAuthMethods: () => ['wampcra'],
  wampcra_extra(_realm: string, details: Record<string, unknown>, cb: (err: Error | undefined, extra?: unknown) => void) {
    const challenge = JSON.stringify({
      authid: details.authid, authrole: CRA_USER.role, authmethod: 'wampcra', authprovider: 'static',
      nonce: randomBytes(48).toString('base64'), timestamp: new Date().toISOString(), session: 0,
    });
    challenges.set(details, challenge);
    cb(undefined, { challenge, salt: CRA_USER.salt, iterations: CRA_USER.iterations, keylen: CRA_USER.keylen });
  },
  wampcra_auth(_realm: string, details: Record<string, unknown>, signature: unknown, _extra: unknown, cb: (err: Error | undefined, user?: unknown) => void) {
    const challenge = challenges.get(details);
    challenges.delete(details);
    if (details.authid !== CRA_USER.authid || challenge === undefined || typeof signature !== 'string') return cb(new Error('authentication_failed'));
    const expected = Buffer.from(createHmac('sha256', key).update(challenge).digest('base64'));
    const got = Buffer.from(signature);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return cb(new Error('authentication_failed'));
    cb(undefined, { role: CRA_USER.role });
  },
};

function listening(server: { once(e: string, f: (...a: unknown[]) => void): void; address(): unknown }): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`));
  });
}

serve({
  async start() {
    const router = new FoxRouter();
    const open = router.listenWAMP({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    const cra = router.listenWAMP({ host: '127.0.0.1', port: 0, perMessageDeflate: false }, craHandler);
    const [url, craUrl] = await Promise.all([listening(open), listening(cra)]);
    const version = (require('fox-wamp/package.json') as { version: string }).version;
    return { url, craUrl, pid: process.pid, version };
  },
  mem(args: { gc?: boolean } = {}) {
    if (args.gc && typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    return process.memoryUsage();
  },
  stop() {
    setImmediate(() => process.exit(0));
    return true;
  },
});
