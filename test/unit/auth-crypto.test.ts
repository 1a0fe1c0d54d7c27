import '../helpers/quiet-autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { createHash, createHmac, createPrivateKey, createPublicKey, sign as edSign } from 'node:crypto';
import nacl from 'tweetnacl';
import type { HelloContext } from '../../auth/authenticator.js';
import type { CraUser } from '../../auth/credentials.js';
import { constantTimeEqual, deriveKey, newNonce, signChallenge, verifyCryptosign } from '../../auth/crypto.js';
import { LoginGuard } from '../../auth/guard.js';
import { realmShapes, UnknownAuthids } from '../../auth/unknown-authid.js';
import { WampCraAuthenticator } from '../../auth/wampcra.js';
import { DEFAULT_LIMITS } from '../../router/limits.js';

/**
 * The cryptographic primitives of authentication against the published vectors (wamp-spec §6.2
 * table, §6.4 cryptosign vector) and reliability.md §2.12 item 14.
 */

/** wamp-spec §6.2 challenge string C: 189 octets, Python-style separators. */
const C = '{"authid": "peter", "authrole": "user", "authmethod": "wampcra", "authprovider": "static", '
  + '"session": 3251278072152162, "nonce": "LHRTC9zeOIrt_9U3", "timestamp": "2014-06-22T16:36:25.448Z"}';
const C_SHA256 = '8c44e0b8c58d22784ec8f90e861cc68f58d826a2bbc9382d602d80c3408705d4';

const V1_KEY = 'qzcdsr9uu/L5hnss3kjNTRe490ETgA70ZBaB5rvnJ5Y=';
const V2_SIG = '1njQtmmeYO41N5EWEzD2kAjjEKRZ5kPZt/TzpYXOzR0=';
const V3_KEY = 'prq7+YkJ1/KlW1X0YczMHw==';
const V4_SIG = 'Qd4dxiMtNetZgCO45CYANW8Nr5QNNpI6RYvbdOdv/nk=';
const V5_SIG = 'z6gieBUnLQKm99r8nmhDsJJP6B/C2c5Cdn9Z9fBvRR8=';
const V6_WRONG = 'U19qOU1azikjLhdlnuV8lYlsjVpU3gbUOT/1ULCq+GY=';

/** wamp-spec §6.4 cryptosign vector. */
const CS_SEED = '4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510';
const CS_CHALLENGE = Buffer.alloc(32, 0xff);
const CS_SIGNATURE = 'b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0c'
  + 'ae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function flipHexChar(hex: string, index: number): string {
  const c = hex[index]!;
  return hex.slice(0, index) + (c === '0' ? '1' : '0') + hex.slice(index + 1);
}

describe('auth crypto: WAMP-CRA vectors (wamp-spec §6.2)', function () {
  it('C is copied exactly: 189 octets with the published SHA-256', function () {
    expect(Buffer.byteLength(C, 'utf8')).to.equal(189);
    expect(createHash('sha256').update(C, 'utf8').digest('hex')).to.equal(C_SHA256);
  });

  it('#1 derive_key(L3L1YUE8Txlw, salt123) with the defaults (1000 iterations, 32 bytes)', function () {
    expect(deriveKey('L3L1YUE8Txlw', 'salt123')).to.equal(V1_KEY);
    expect(deriveKey('L3L1YUE8Txlw', 'salt123', 1000, 32)).to.equal(V1_KEY);
    expect(Buffer.from(V1_KEY, 'base64')).to.have.length(32);
  });

  it('#2 compute_wcs(L3L1YUE8Txlw, "[1, 2, 3]")', function () {
    expect(signChallenge('L3L1YUE8Txlw', '[1, 2, 3]')).to.equal(V2_SIG);
  });

  it('#3 the Crossbar docs key: secret1, salt123, 100 iterations, keylen 16', function () {
    expect(deriveKey('secret1', 'salt123', 100, 16)).to.equal(V3_KEY);
  });

  it('#4 full salted flow: the base64 TEXT of key #1 is the HMAC key over C', function () {
    expect(signChallenge(deriveKey('L3L1YUE8Txlw', 'salt123'), C)).to.equal(V4_SIG);
    expect(signChallenge(V1_KEY, C)).to.equal(V4_SIG);
  });

  it('#5 unsalted: the secret itself is the HMAC key over C', function () {
    expect(signChallenge('L3L1YUE8Txlw', C)).to.equal(V5_SIG);
  });

  it('#6 (negative) HMAC keyed with the raw 32 bytes of key #1 is NOT the signature', function () {
    // Recompute the wrong-way vector independently, so the negative case really is what the spec lists.
    const wrong = createHmac('sha256', Buffer.from(V1_KEY, 'base64')).update(C, 'utf8').digest('base64');
    expect(wrong).to.equal(V6_WRONG);
    const expected = signChallenge(V1_KEY, C);
    expect(expected).to.not.equal(V6_WRONG);
    expect(constantTimeEqual(expected, V6_WRONG)).to.equal(false);
    expect(constantTimeEqual(expected, V4_SIG)).to.equal(true);
  });

  it('signatures are standard base64, 44 characters with one "="', function () {
    for (const sig of [signChallenge('k', C), signChallenge(V1_KEY, '[1, 2, 3]')]) {
      expect(sig).to.match(BASE64).and.have.length(44);
      expect(sig.endsWith('=') && !sig.endsWith('==')).to.equal(true);
    }
  });

  it('agrees with autobahn-js auth_cra.derive_key / sign (CryptoJS) on every vector', function () {
    const cra = (autobahn as any).auth_cra;
    expect(cra.derive_key('L3L1YUE8Txlw', 'salt123', 1000, 32)).to.equal(deriveKey('L3L1YUE8Txlw', 'salt123'));
    expect(cra.derive_key('secret1', 'salt123', 100, 16)).to.equal(deriveKey('secret1', 'salt123', 100, 16));
    for (const keylen of [16, 20, 30, 64]) {
      expect(cra.derive_key('pw', 'NaCl', 10, keylen), `keylen ${keylen}`).to.equal(deriveKey('pw', 'NaCl', 10, keylen));
    }
    expect(cra.sign('L3L1YUE8Txlw', '[1, 2, 3]')).to.equal(signChallenge('L3L1YUE8Txlw', '[1, 2, 3]'));
    expect(cra.sign(V1_KEY, C)).to.equal(signChallenge(V1_KEY, C));
    expect(cra.sign('L3L1YUE8Txlw', C)).to.equal(signChallenge('L3L1YUE8Txlw', C));
  });

  it('UTF-8 secrets, salts and challenges are hashed as UTF-8 (Node vs CryptoJS)', function () {
    const cra = (autobahn as any).auth_cra;
    expect(deriveKey('pässwörd€', 'sälz', 50, 32)).to.equal(cra.derive_key('pässwörd€', 'sälz', 50, 32));
    expect(signChallenge('schlüssel', '{"x": "ünïcödé"}')).to.equal(cra.sign('schlüssel', '{"x": "ünïcödé"}'));
  });
});

describe('auth crypto: WampCraAuthenticator verifies the right way only', function () {
  const context = (authid: string | undefined): HelloContext => ({
    realm: 'realm1', sessionId: 4242, authid, authextra: {}, details: { authmethods: ['wampcra'] },
    transport: { type: 'websocket', peer: '127.0.0.1:1', remoteAddress: '127.0.0.1', protocol: 'wamp.2.json' },
  });
  const salted: CraUser = {
    authid: 'peter', role: 'user', key: V1_KEY, source: 'static', salted: { salt: 'salt123', iterations: 1000, keylen: 32 },
  };

  function authenticator(users: CraUser[]): WampCraAuthenticator {
    return new WampCraAuthenticator({
      lookup: (authid) => users.filter((u) => u.authid === authid),
      guard: new LoginGuard({ ...DEFAULT_LIMITS, authFailureBaseDelayMs: 0 }),
      unknown: new UnknownAuthids(Buffer.alloc(32, 7), realmShapes(users.map((u) => u.salted), false, false)),
      deadCause: () => undefined,
      banned: () => false,
    });
  }

  async function challengeFor(auth: WampCraAuthenticator, authid: string) {
    const step = await auth.hello(context(authid));
    if (step.outcome !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
    return step;
  }

  it('the challenge names the principal, a fresh nonce, the session, and the salt parameters (no role, no provider)', async function () {
    const step = await challengeFor(authenticator([salted]), 'peter');
    expect(step.extra).to.include({ salt: 'salt123', iterations: 1000, keylen: 32 });
    const challenge = JSON.parse(step.extra.challenge as string);
    expect(Object.keys(challenge).sort()).to.deep.equal(['authid', 'authmethod', 'nonce', 'session', 'timestamp']);
    expect(challenge).to.include({ authid: 'peter', authmethod: 'wampcra', session: 4242 });
    expect(challenge.nonce).to.have.length(64);
    expect(new Date(challenge.timestamp).toISOString()).to.equal(challenge.timestamp);
  });

  it('accepts the base64-text-keyed signature (#4 recipe) and refuses the raw-bytes one (#6 recipe)', async function () {
    const auth = authenticator([salted]);
    const wrongWay = await challengeFor(auth, 'peter');
    const raw = createHmac('sha256', Buffer.from(V1_KEY, 'base64')).update(wrongWay.extra.challenge as string, 'utf8').digest('base64');
    expect((await wrongWay.verify(raw, {})).outcome).to.equal('deny');

    const rightWay = await challengeFor(auth, 'peter');
    const outcome = await rightWay.verify(signChallenge(deriveKey('L3L1YUE8Txlw', 'salt123'), rightWay.extra.challenge as string), {});
    expect(outcome.outcome).to.equal('welcome');
    if (outcome.outcome === 'welcome') expect(outcome.identity).to.include({ authid: 'peter', authrole: 'user', authmethod: 'wampcra' });
  });

  it('refuses the password itself used as key, and a signature for a different challenge', async function () {
    const auth = authenticator([salted]);
    const a = await challengeFor(auth, 'peter');
    expect((await a.verify(signChallenge('L3L1YUE8Txlw', a.extra.challenge as string), {})).outcome).to.equal('deny');
    const b = await challengeFor(auth, 'peter');
    const c = await challengeFor(auth, 'peter');
    expect(b.extra.challenge).to.not.equal(c.extra.challenge);
    expect((await b.verify(signChallenge(V1_KEY, c.extra.challenge as string), {})).outcome).to.equal('deny');
  });

  it('an unknown authid gets the same challenge shape, a stable salt, and never verifies', async function () {
    const auth = authenticator([salted]);
    const known = await challengeFor(auth, 'peter');
    const one = await challengeFor(auth, 'nobody');
    const two = await challengeFor(auth, 'nobody');
    expect(Object.keys(one.extra).sort()).to.deep.equal(Object.keys(known.extra).sort());
    expect(one.extra.salt).to.be.a('string').and.equal(two.extra.salt);
    expect(one.extra).to.include({ iterations: 1000, keylen: 32 });
    expect(Object.keys(JSON.parse(one.extra.challenge as string)).sort())
      .to.deep.equal(Object.keys(JSON.parse(known.extra.challenge as string)).sort());
    for (const key of ['', V1_KEY, 'nobody', deriveKey('', one.extra.salt as string)]) {
      expect((await one.verify(signChallenge(key, one.extra.challenge as string), {})).outcome).to.equal('deny');
    }
  });
});

describe('auth crypto: cryptosign (wamp-spec §6.4 vector)', function () {
  const keyPair = nacl.sign.keyPair.fromSeed(Buffer.from(CS_SEED, 'hex'));
  const publicKeyHex = Buffer.from(keyPair.publicKey).toString('hex');
  const validHex = CS_SIGNATURE + CS_CHALLENGE.toString('hex');

  it('tweetnacl and Node crypto both reproduce the spec signature from the seed', function () {
    const naclSig = Buffer.from(nacl.sign.detached(CS_CHALLENGE, keyPair.secretKey)).toString('hex');
    expect(naclSig).to.equal(CS_SIGNATURE);
    // PKCS#8 wrapping of a raw Ed25519 seed.
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(CS_SEED, 'hex')]), format: 'der', type: 'pkcs8' });
    expect(edSign(null, CS_CHALLENGE, privateKey).toString('hex')).to.equal(CS_SIGNATURE);
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    expect(spki.subarray(-32).toString('hex')).to.equal(publicKeyHex);
  });

  it('autobahn-js auth_cryptosign.sign_challenge produces signature ‖ challenge (192 hex)', function () {
    const answer = (autobahn as any).auth_cryptosign.sign_challenge(keyPair, { challenge: CS_CHALLENGE.toString('hex') });
    expect(answer).to.equal(validHex);
    expect(answer).to.have.length(192);
  });

  it('verifyCryptosign accepts the spec vector (lower- and upper-case hex)', function () {
    expect(verifyCryptosign(publicKeyHex, CS_CHALLENGE, validHex)).to.equal(true);
    expect(verifyCryptosign(publicKeyHex.toUpperCase(), CS_CHALLENGE, validHex.toUpperCase())).to.equal(true);
  });

  it('refuses a flipped byte in the signature or in the signed message', function () {
    for (const index of [0, 63, 64, 127, 128, 150, 191]) {
      expect(verifyCryptosign(publicKeyHex, CS_CHALLENGE, flipHexChar(validHex, index)), `hex char ${index}`).to.equal(false);
    }
  });

  it('refuses the vector against a different challenge (a replayed signature)', function () {
    const other = Buffer.alloc(32, 0xff);
    other[31] = 0xfe;
    expect(verifyCryptosign(publicKeyHex, other, validHex)).to.equal(false);
    // Even a genuine signature of the other challenge is refused when the session's challenge is 0xff…ff.
    const genuineOther = Buffer.from(nacl.sign.detached(other, keyPair.secretKey)).toString('hex') + other.toString('hex');
    expect(verifyCryptosign(publicKeyHex, other, genuineOther)).to.equal(true);
    expect(verifyCryptosign(publicKeyHex, CS_CHALLENGE, genuineOther)).to.equal(false);
  });

  it('refuses wrong lengths and non-hex', function () {
    for (const bad of ['', CS_SIGNATURE, validHex.slice(0, 190), validHex + '00', validHex.slice(0, 191) + 'g', ' ' + validHex.slice(1), validHex + validHex]) {
      expect(verifyCryptosign(publicKeyHex, CS_CHALLENGE, bad), `length ${bad.length}`).to.equal(false);
    }
  });

  it('refuses a signature made by another key, and the vector under another public key', function () {
    const other = nacl.sign.keyPair.fromSeed(Buffer.alloc(32, 1));
    const otherPub = Buffer.from(other.publicKey).toString('hex');
    const byOther = Buffer.from(nacl.sign.detached(CS_CHALLENGE, other.secretKey)).toString('hex') + CS_CHALLENGE.toString('hex');
    expect(verifyCryptosign(publicKeyHex, CS_CHALLENGE, byOther)).to.equal(false);
    expect(verifyCryptosign(otherPub, CS_CHALLENGE, validHex)).to.equal(false);
  });

  it('never accepts when the expected challenge has the wrong length (false or throw, never true)', function () {
    for (const challenge of [Buffer.alloc(31, 0xff), Buffer.alloc(33, 0xff), Buffer.alloc(0)]) {
      let result: unknown;
      try {
        result = verifyCryptosign(publicKeyHex, challenge, validHex);
      } catch {
        result = 'threw';
      }
      expect(result, `challenge of ${challenge.length} bytes`).to.not.equal(true);
    }
  });
});

describe('auth crypto: constantTimeEqual', function () {
  it('is true exactly for equal strings', function () {
    expect(constantTimeEqual('', '')).to.equal(true);
    expect(constantTimeEqual('secret', 'secret')).to.equal(true);
    expect(constantTimeEqual(V4_SIG, V4_SIG.slice())).to.equal(true);
    expect(constantTimeEqual('ünïcödé€', 'ünïcödé€')).to.equal(true);
  });

  it('is false for different content of the same length', function () {
    expect(constantTimeEqual('secret', 'secreT')).to.equal(false);
    expect(constantTimeEqual(V4_SIG, V5_SIG)).to.equal(false);
    expect(constantTimeEqual('a', 'b')).to.equal(false);
  });

  it('is false (and does not throw) for different lengths, prefixes and empty strings', function () {
    expect(constantTimeEqual('secret', 'secret1')).to.equal(false);
    expect(constantTimeEqual('secret1', 'secret')).to.equal(false);
    expect(constantTimeEqual('', 'a')).to.equal(false);
    expect(constantTimeEqual('a', '')).to.equal(false);
    expect(constantTimeEqual('x'.repeat(10_000), 'x'.repeat(10_001))).to.equal(false);
  });

  it('compares characters, not a lossy encoding (é vs e, NUL bytes)', function () {
    expect(constantTimeEqual('é', 'e')).to.equal(false);
    expect(constantTimeEqual('a\u0000', 'a')).to.equal(false);
    expect(constantTimeEqual('a\u0000b', 'a\u0000c')).to.equal(false);
  });
});

describe('auth crypto: newNonce', function () {
  it('is 64 base64 characters decoding to 48 random bytes', function () {
    const nonce = newNonce();
    expect(nonce).to.have.length(64);
    expect(nonce).to.match(/^[A-Za-z0-9+/]{64}$/);
    expect(Buffer.from(nonce, 'base64')).to.have.length(48);
  });

  it('5 nonces are 5 distinct values', function () {
    const nonces = Array.from({ length: 5 }, () => newNonce());
    expect(new Set(nonces).size).to.equal(5);
    for (const nonce of nonces) expect(nonce).to.have.length(64);
  });
});
