import { randomBytes } from 'node:crypto';

/** Largest WAMP ID (wamp-spec §3): IDs are integers in [1, 2^53]. */
export const MAX_ID = 2 ** 53;

export function isValidId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID;
}

// Random IDs are drawn in batches: one randomBytes call per 512 IDs keeps session and
// publication IDs cryptographically random without a syscall per publish.
const BATCH = 512;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * A global-scope ID (session, publication): uniform over [1, 2^53] from the crypto RNG, as
 * autobahn's `rid()` does: mask 8 random bytes to 53 bits and map 0 to 2^53.
 */
export function randomId(): number {
  if (offset + 8 > pool.length) {
    pool = randomBytes(8 * BATCH);
    offset = 0;
  }
  const high = pool.readUInt32BE(offset) & 0x1fffff;
  const low = pool.readUInt32BE(offset + 4);
  offset += 8;
  const value = high * 0x1_0000_0000 + low;
  return value === 0 ? MAX_ID : value;
}

/** Session-scope request IDs: 1, 2, 3, … wrapping back to 1 after 2^53 (wamp-spec §3). */
export class SequentialIds {
  private last = 0;
  next(): number {
    this.last = this.last >= MAX_ID ? 1 : this.last + 1;
    return this.last;
  }
}

/** Router-scope IDs (subscriptions, registrations): free choice; random avoids guessable handles. */
export function routerScopeId(inUse: (id: number) => boolean): number {
  let id = randomId();
  while (inUse(id)) id = randomId();
  return id;
}
