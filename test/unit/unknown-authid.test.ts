import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { ChallengeStep, HelloContext } from '../../auth/authenticator.js';
import { deriveKey } from '../../auth/crypto.js';
import { Realm } from '../../realms/realm.js';
import { validateConfig } from '../../router/config.js';
import { DEFAULT_LIMITS } from '../../router/limits.js';
import { WampError } from '../../router/protocol/errors.js';

/**
 * Issue 13.2: the WAMP-CRA CHALLENGE of an unknown authid must not tell it apart from a known one.
 * For each kind of realm (plain, salted, mixed; static, issued, dynamic and mixes) challenges are
 * drawn for every known user and for 1,000 unknown authids, and each challenge is reduced to
 * everything a client can see except the values that are fresh per login (nonce, timestamp,
 * session) or echo the request (authid): the keys of the CHALLENGE extra and of the challenge
 * string, salt presence, salt length and alphabet, iterations, keylen, and any other field of the
 * challenge string. No unknown authid may show a shape no known user shows, and each shape must be
 * as frequent among unknown authids as among known users (issued and dynamic users count as a
 * population as large as the static one, the model the README states).
 */

const UNKNOWN = 1000;
/** 1,000 draws: a proportion's standard deviation is at most 0.016; 0.08 is five of them. */
const TOLERANCE = 0.08;
const ROLES = ['frontend', 'backend'];

const generatedSalt = () => randomBytes(16).toString('base64url');
const plainUser = (i: number) => ({ secret: `plain-secret-${i}-${generatedSalt()}`, role: ROLES[i % 2] });
function saltedUser(i: number, salt = generatedSalt(), iterations = 1000, keylen = 32) {
  return { key: deriveKey(`password-${i}`, salt, iterations, keylen), salt, iterations, keylen, role: ROLES[i % 2] };
}
/** A dynamic authenticator is assumed to answer with salted keys at the protocol defaults. */
function dynamicAnswer() {
  return { role: 'frontend', key: randomBytes(32).toString('base64'), salt: generatedSalt(), iterations: 1000, keylen: 32 };
}

interface RealmKind {
  name: string;
  users: Record<string, Record<string, unknown>>;
  issued?: number;
  dynamic?: number;
}

const users = (entries: Record<string, unknown>[]) => Object.fromEntries(entries.map((u, i) => [`user-${i}`, u]));

const KINDS: RealmKind[] = [
  { name: 'only plain static users', users: users([0, 1, 2, 3].map(plainUser)) },
  { name: 'only salted static users', users: users([0, 1, 2, 3].map((i) => saltedUser(i))) },
  {
    name: 'mixed static users (plain, salted, a legacy salt with 500 iterations)',
    users: users([plainUser(0), plainUser(1), saltedUser(2), saltedUser(3), saltedUser(4, 'legacy-salt-x1', 500)]),
  },
  { name: 'only issued users', users: {}, issued: 5 },
  { name: 'only dynamic users', users: {}, dynamic: 5 },
  { name: 'plain static users and issued users', users: users([0, 1, 2].map(plainUser)), issued: 3 },
  {
    name: 'static (plain and salted), issued and dynamic users',
    users: users([plainUser(0), saltedUser(1), plainUser(2), saltedUser(3, generatedSalt(), 2000, 16)]), issued: 4, dynamic: 4,
  },
];

function makeRealm(kind: RealmKind): Realm {
  const auth: Record<string, unknown> = { wampcra: { users: kind.users, ...(kind.issued ? { issue: { roles: ['frontend'] } } : {}) } };
  if (kind.dynamic) auth.dynamic = { procedure: 'com.example.authenticate', methods: ['wampcra'] };
  const config = validateConfig({
    realms: [{ name: 'realm1', roles: ROLES.map((name) => ({ name, permissions: [] })), auth }],
  });
  const realm = new Realm(config.realms[0]!, { ...DEFAULT_LIMITS, authFailureBaseDelayMs: 0 });
  if (kind.dynamic) {
    const known = new Map(Array.from({ length: kind.dynamic }, (_, i) => [`dyn-${i}`, dynamicAnswer()]));
    // The dynamic authenticator procedure, answered in-process.
    realm.dealer.callInternal = async (_procedure, args) => {
      const answer = known.get(args[1] as string);
      if (!answer) throw new WampError('com.example.error.no_such_user', 'no such user');
      return { args: [answer] };
    };
  }
  return realm;
}

function knownAuthids(realm: Realm, kind: RealmKind): string[] {
  const authids = Object.keys(kind.users);
  for (let i = 0; i < (kind.issued ?? 0); i++) {
    realm.issued.issue(`web-${i}`, 'frontend', 60_000);
    authids.push(`web-${i}`);
  }
  for (let i = 0; i < (kind.dynamic ?? 0); i++) authids.push(`dyn-${i}`);
  return authids;
}

function context(authid: string): HelloContext {
  return {
    realm: 'realm1', sessionId: 1 + Math.floor(Math.random() * 2 ** 50), authid, authextra: {}, details: { authmethods: ['wampcra'] },
    transport: { type: 'websocket', peer: '127.0.0.1:1', remoteAddress: '127.0.0.1', protocol: 'wamp.2.json' },
  };
}

async function challenge(realm: Realm, authid: string): Promise<Record<string, unknown>> {
  const step = await realm.selectAuthenticator(['wampcra'])!.hello(context(authid));
  expect(step.outcome, `a CHALLENGE for ${authid}`).to.equal('challenge');
  return (step as ChallengeStep).extra;
}

/** Everything a client sees in a CHALLENGE except per-login values and the echoed authid. */
function shape(extra: Record<string, unknown>, authid: string): string {
  const inner = JSON.parse(extra.challenge as string) as Record<string, unknown>;
  expect(inner.authid).to.equal(authid);
  expect(inner.nonce).to.be.a('string').with.length(64);
  expect(new Date(inner.timestamp as string).toISOString()).to.equal(inner.timestamp);
  expect(inner.session).to.be.a('number');
  const { authid: _a, nonce: _n, timestamp: _t, session: _s, ...rest } = inner;
  const salt = extra.salt as string | undefined;
  return JSON.stringify({
    extraKeys: Object.keys(extra).sort(),
    challengeKeys: Object.keys(inner).sort(),
    otherChallengeFields: rest,
    salt: salt === undefined ? null : { length: salt.length, alphabet: /^[A-Za-z0-9_-]+$/.test(salt) ? 'base64url' : 'other' },
    iterations: extra.iterations ?? null,
    keylen: extra.keylen ?? null,
  });
}

function frequencies(shapes: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of shapes) counts.set(s, (counts.get(s) ?? 0) + 1);
  return new Map([...counts].map(([s, n]) => [s, n / shapes.length]));
}

describe('wampcra: an unknown authid\'s CHALLENGE is drawn from the known users\' (issue 13.2)', function () {
  this.timeout(30_000);

  for (const kind of KINDS) {
    it(`${kind.name}: no field separates 1,000 unknown authids from the known users`, async function () {
      const realm = makeRealm(kind);
      try {
        const known = knownAuthids(realm, kind);
        const knownShapes = await Promise.all(known.map(async (authid) => shape(await challenge(realm, authid), authid)));
        const unknownShapes: string[] = [];
        for (let i = 0; i < UNKNOWN; i++) {
          const authid = `guess-${i}-${randomBytes(4).toString('hex')}`;
          unknownShapes.push(shape(await challenge(realm, authid), authid));
        }
        const expected = frequencies(knownShapes);
        const observed = frequencies(unknownShapes);
        for (const [s, share] of observed) {
          expect(expected.has(s), `a shape only unknown authids show (${(share * 100).toFixed(1)}%): ${s}\nknown: ${[...expected.keys()].join('\n')}`).to.equal(true);
        }
        for (const [s, share] of expected) {
          const seen = observed.get(s) ?? 0;
          expect(Math.abs(seen - share), `shape ${s}: ${(share * 100).toFixed(1)}% of known users, ${(seen * 100).toFixed(1)}% of unknown authids`)
            .to.be.at.most(TOLERANCE);
        }
      } finally {
        realm.close();
      }
    });
  }

  it('one unknown authid gets the same salt parameters on every try, and they differ between authids', async function () {
    const realm = makeRealm(KINDS[2]!);
    try {
      const params = async (authid: string) => {
        const { challenge: _c, ...rest } = await challenge(realm, authid);
        return rest;
      };
      const salts = new Set<unknown>();
      for (let i = 0; i < 50; i++) {
        const first = await params(`stranger-${i}`);
        expect(await params(`stranger-${i}`), `stranger-${i}`).to.deep.equal(first);
        salts.add(first.salt);
      }
      expect(salts.size, 'salts are per authid, not one fixed fake salt').to.be.greaterThan(10);
    } finally {
      realm.close();
    }
  });

  it('the same config gives the same answers after a restart; a realm without static secrets draws a new key', async function () {
    const params = async (realm: Realm) => {
      const { challenge: _c, ...rest } = await challenge(realm, 'stranger-x');
      realm.close();
      return rest;
    };
    const kind = KINDS[1]!;
    expect(await params(makeRealm(kind)), 'a second process with the same config').to.deep.equal(await params(makeRealm(kind)));
    const issuedOnly = KINDS[3]!;
    expect((await params(makeRealm(issuedOnly))).salt).to.not.equal((await params(makeRealm(issuedOnly))).salt);
  });

  it('issuing a credential does not change the salt an authid is challenged with', async function () {
    const realm = makeRealm(KINDS[3]!);
    try {
      const before = await challenge(realm, 'user-77');
      const credential = realm.issued.issue('user-77', 'frontend', 60_000);
      const after = await challenge(realm, 'user-77');
      expect(after.salt).to.equal(before.salt);
      expect(credential.salt).to.equal(before.salt);
      expect(credential.salt).to.match(/^[A-Za-z0-9_-]{22}$/);
    } finally {
      realm.close();
    }
  });
});
