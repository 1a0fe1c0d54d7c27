import { createHash, createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from './crypto.js';

/**
 * Challenge-signed HTTP requests (issue 9). A caller first fetches a nonce bound to its key id,
 * then signs `METHOD \n PATH \n NONCE \n hex(SHA-512(body))` with HMAC-SHA512 and the key's
 * secret. A nonce is good for one request only, for that key only, and only until it expires;
 * it is burnt on first presentation whether or not the signature then verifies.
 */

export const HTTP_AUTHMETHOD = 'http-hmac';

/** hex SHA-512 of the exact body bytes. */
export function bodyDigest(body: Buffer | string): string {
  return createHash('sha512').update(body).digest('hex');
}

/** The string that is signed: method and path exactly as sent, the nonce, the body digest. */
export function signingString(method: string, path: string, nonce: string, body: Buffer | string): string {
  return `${method.toUpperCase()}\n${path}\n${nonce}\n${bodyDigest(body)}`;
}

/** hex HMAC-SHA512 of the signing string with the key's secret. */
export function signRequest(secret: string, method: string, path: string, nonce: string, body: Buffer | string): string {
  return createHmac('sha512', secret).update(signingString(method, path, nonce, body), 'utf8').digest('hex');
}

/**
 * Check a signature in constant time. Without a secret (unknown key) a throwaway secret is used
 * so the work done, and hence the timing, does not reveal whether the key exists.
 */
export function verifySignature(secret: string | undefined, method: string, path: string, nonce: string, body: Buffer | string, signature: string): boolean {
  const expected = signRequest(secret ?? UNKNOWN_KEY_SECRET, method, path, nonce, body);
  return constantTimeEqual(expected, signature.toLowerCase()) && secret !== undefined;
}

const UNKNOWN_KEY_SECRET = randomBytes(32).toString('hex');

export interface NonceStoreOptions {
  /** How long an issued nonce stays usable; default 30 s. */
  nonceTtlMs?: number;
  /** Most nonces held at once; the oldest is forgotten first once expired ones are gone. */
  maxNonces?: number;
  now?: () => number;
}

interface Issued {
  keyId: string;
  expires: number;
}

/** Issued, not yet used nonces: single-use, bound to a key id, expiring, bounded in number. */
export class NonceStore {
  private readonly nonces = new Map<string, Issued>();
  readonly nonceTtlMs: number;
  private readonly maxNonces: number;
  private readonly now: () => number;

  constructor(options: NonceStoreOptions = {}) {
    this.nonceTtlMs = options.nonceTtlMs ?? 30_000;
    this.maxNonces = options.maxNonces ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.nonces.size;
  }

  /**
   * A fresh nonce (32 random bytes, hex) for `keyId`. With `remember: false` (an unknown key) the
   * answer has the same shape but is never stored, so it can never be used and costs no memory.
   */
  issue(keyId: string, remember = true): { nonce: string; expires: number } {
    const nonce = randomBytes(32).toString('hex');
    const expires = this.now() + this.nonceTtlMs;
    if (remember) {
      if (this.nonces.size >= this.maxNonces) this.prune();
      while (this.nonces.size >= this.maxNonces) this.nonces.delete(this.nonces.keys().next().value!);
      this.nonces.set(nonce, { keyId, expires });
    }
    return { nonce, expires };
  }

  /**
   * Burn `nonce` and say whether it was issued to `keyId` and is unexpired. Whatever the answer,
   * the nonce is gone afterwards.
   */
  consume(nonce: string, keyId: string): boolean {
    const issued = this.nonces.get(nonce);
    if (!issued) return false;
    this.nonces.delete(nonce);
    return issued.keyId === keyId && issued.expires > this.now();
  }

  /** Forget every expired nonce (insertion order is expiry order: the TTL is fixed). */
  prune(): void {
    const t = this.now();
    for (const [nonce, issued] of this.nonces) {
      if (issued.expires > t) break;
      this.nonces.delete(nonce);
    }
  }
}
