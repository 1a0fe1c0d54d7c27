import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { AuthConfig } from '../router/config.js';
import type { SaltParams } from './credentials.js';
import { DEFAULT_ITERATIONS, DEFAULT_KEYLEN, keyedSalt, SALT_LENGTH } from './crypto.js';

/**
 * What the WAMP-CRA CHALLENGE of an authid that has no credential looks like. A challenge reveals
 * only the salt parameters (the challenge string names no role or provider), so an unknown authid
 * gets salt parameters drawn from the realm's own users: each configured user is one shape, the
 * realm's issued and dynamic users count as a population as large as the static one in the
 * shape they are made with. The draw is a keyed function of the authid: the same authid always
 * gets the same answer, and without the key nobody can tell a drawn answer from a real one.
 */

/** What a CHALLENGE shows of a user: no salt, or the salt's parameters and length. */
export type CraShape = { salted: false } | { salted: true; iterations: number; keylen: number; saltLength: number };

/** Issued credentials: a 22-character base64url salt and the protocol's default parameters. */
export const GENERATED_SHAPE: CraShape = { salted: true, iterations: DEFAULT_ITERATIONS, keylen: DEFAULT_KEYLEN, saltLength: SALT_LENGTH };

export function shapeOf(salted: SaltParams | undefined): CraShape {
  return salted ? { salted: true, iterations: salted.iterations, keylen: salted.keylen, saltLength: salted.salt.length } : { salted: false };
}

export interface WeightedShape {
  shape: CraShape;
  weight: number;
}

/**
 * The shapes of a realm's WAMP-CRA users. A dynamic authenticator's answers cannot be known in
 * advance: its users are assumed to be salted like issued credentials (a 22-character salt, the
 * protocol's default iterations and keylen). Not `derive-key`'s 600,000 iterations: an unknown
 * authid would then cost every probing client seconds of CryptoJS, and the realm's own tests too.
 */
export function realmShapes(staticUsers: readonly (SaltParams | undefined)[], issues: boolean, dynamic: boolean): WeightedShape[] {
  const shapes = staticUsers.map((salted) => ({ shape: shapeOf(salted), weight: 1 }));
  const runtimeWeight = Math.max(1, staticUsers.length);
  if (issues) shapes.push({ shape: GENERATED_SHAPE, weight: runtimeWeight });
  if (dynamic) shapes.push({ shape: GENERATED_SHAPE, weight: runtimeWeight });
  return shapes.length > 0 ? shapes : [{ shape: GENERATED_SHAPE, weight: 1 }];
}

/**
 * The secret behind the draws and behind issued salts. Derived from the realm's static credentials
 * (their keys, secrets and tickets), so the answers survive a restart with the same config: were
 * they to change on restart while real users' salts stay, a restart would tell them apart. A realm
 * without static credentials has nothing stable and secret to derive from, and gets a random key.
 */
export function unknownAuthidKey(realm: string, auth: AuthConfig): Buffer {
  const material = staticSecrets(auth);
  if (material.length === 0) return randomBytes(32);
  return createHash('sha256').update('switchyard-unknown-authid\u0000').update(JSON.stringify([realm, material])).digest();
}

export function hasStaticSecrets(auth: AuthConfig): boolean {
  return staticSecrets(auth).length > 0;
}

function staticSecrets(auth: AuthConfig): string[][] {
  return [
    ...Object.entries(auth.wampcra?.users ?? {}).map(([authid, u]) => ['wampcra', authid, u.key ?? u.secret ?? '']),
    ...Object.entries(auth.ticket?.users ?? {}).map(([authid, u]) => ['ticket', authid, u.ticket]),
  ];
}

export class UnknownAuthids {
  private readonly total: number;

  constructor(private readonly key: Buffer, private readonly shapes: readonly WeightedShape[]) {
    this.total = shapes.reduce((sum, s) => sum + s.weight, 0);
  }

  /** The salt parameters to challenge `authid` with; undefined for an unsalted draw. */
  saltParams(authid: string): SaltParams | undefined {
    const shape = this.draw(authid);
    if (!shape.salted) return undefined;
    return { salt: keyedSalt(this.key, authid, shape.saltLength), iterations: shape.iterations, keylen: shape.keylen };
  }

  private draw(authid: string): CraShape {
    const digest = createHmac('sha256', this.key).update('shape\u0000').update(authid, 'utf8').digest();
    let point = (digest.readUIntBE(0, 6) / 2 ** 48) * this.total;
    for (const { shape, weight } of this.shapes) {
      if (point < weight) return shape;
      point -= weight;
    }
    return this.shapes[this.shapes.length - 1]!.shape;
  }
}
