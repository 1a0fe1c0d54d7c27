import { createHmac, createPublicKey, pbkdf2Sync, randomBytes, timingSafeEqual, verify, createHash, type KeyObject } from 'node:crypto';

/**
 * The cryptographic primitives of authentication, in one place so each is written (and tested
 * against the spec vectors, wamp-spec §6.2 and §6.4) exactly once.
 */

/** The WAMP-CRA protocol default (clients use it when a CHALLENGE omits iterations); issued credentials use it. */
export const DEFAULT_ITERATIONS = 1000;
export const DEFAULT_KEYLEN = 32;
/**
 * `derive-key`'s default for human-chosen passwords: OWASP's figure for PBKDF2-HMAC-SHA256 (Password
 * Storage Cheat Sheet, 2023). Issued credentials stay at DEFAULT_ITERATIONS: their secret is 32
 * random bytes, which no iteration count makes harder to guess. Costs per client: README.
 */
export const PASSWORD_ITERATIONS = 600_000;

/**
 * WAMP-CRA key derivation, as Autobahn|Python `derive_key` and autobahn-js `auth_cra.derive_key`:
 * PBKDF2-HMAC-SHA256 over the UTF-8 password and UTF-8 salt, returned as standard base64 text.
 */
export function deriveKey(secret: string, salt: string, iterations = DEFAULT_ITERATIONS, keylen = DEFAULT_KEYLEN): string {
  return pbkdf2Sync(secret, salt, iterations, keylen, 'sha256').toString('base64');
}

/**
 * WAMP-CRA signature: base64 HMAC-SHA256 of the exact challenge string. For salted users the key
 * is the base64 *text* of the derived key, not its decoded bytes (the nexus interop bug).
 */
export function signChallenge(key: string, challenge: string): string {
  return createHmac('sha256', key).update(challenge, 'utf8').digest('base64');
}

/**
 * Compare two secrets in constant time whatever their lengths: both sides are hashed to 32 bytes
 * first, so neither the content nor the length of the expected value leaks through timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * A one-way digest of the credential a session used (key, ticket, public key), kept with the
 * session so re-verification can tell a rotated secret from the one it joined with.
 */
export function fingerprint(secret: string): string {
  return createHash('sha256').update('switchyard-credential\u0000').update(secret, 'utf8').digest('base64');
}

const NONCE_BYTES = 48;
// Drawn 64 nonces at a time from the crypto RNG: one randomBytes call per login was ~15 µs.
const NONCE_BATCH = 64;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

/** 48 random bytes as base64: a 64-character nonce, as Crossbar's `util.newid(64)`. */
export function newNonce(): string {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * NONCE_BATCH);
    nonceOffset = 0;
  }
  const nonce = noncePool.toString('base64', nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

/** Bytes of a generated PBKDF2 salt (derive-key, issued credentials): 16, as base64url text of 22 characters. */
export const SALT_BYTES = 16;
export const SALT_LENGTH = Math.ceil((SALT_BYTES * 4) / 3);

/** A fresh random salt: 16 bytes as base64url, the text WAMP-CRA clients use as the salt's UTF-8 bytes. */
export function newSalt(): string {
  return randomBytes(SALT_BYTES).toString('base64url');
}

/**
 * A salt-shaped string (base64url, `length` characters) that is a keyed function of `label`:
 * stable for one label, unpredictable without `key`. Issued credentials and the challenges of
 * unknown authids take their salts from here, so both look like `newSalt()` output.
 */
export function keyedSalt(key: Buffer, label: string, length = SALT_LENGTH): string {
  let text = '';
  for (let block = 0; text.length < length; block++) {
    text += createHmac('sha256', key).update(`salt\u0000${block}\u0000`).update(label, 'utf8').digest('base64url');
  }
  return text.slice(0, length);
}

/** A random secret for issued credentials: 32 bytes, URL-safe base64. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

// Every Ed25519 SubjectPublicKeyInfo starts with these 12 bytes, followed by the raw 32-byte key.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_64 = /^[0-9a-fA-F]{64}$/;

export function isEd25519PublicKeyHex(value: unknown): value is string {
  return typeof value === 'string' && HEX_64.test(value);
}

export function ed25519PublicKey(hex: string): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/**
 * Verify a cryptosign AUTHENTICATE signature (wamp-spec §6.4): 192 hex characters, the 64-byte
 * Ed25519 signature followed by the 32 signed bytes, which must be exactly the challenge issued
 * for this session. Checking that equality is what makes an old signature useless (the nexus gap).
 */
export function verifyCryptosign(publicKeyHex: string, challenge: Buffer, signatureHex: string): boolean {
  if (!/^[0-9a-fA-F]{192}$/.test(signatureHex)) return false;
  const bytes = Buffer.from(signatureHex, 'hex');
  const signature = bytes.subarray(0, 64);
  const message = bytes.subarray(64);
  if (!timingSafeEqual(message, challenge)) return false;
  try {
    return verify(null, message, ed25519PublicKey(publicKeyHex), signature);
  } catch {
    return false;
  }
}
