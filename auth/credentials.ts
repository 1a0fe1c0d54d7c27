import type { Dict } from '../router/protocol/messages.js';

/**
 * Credentials as the authenticators see them, whatever their source (static config, issued at
 * runtime, or returned by a dynamic authenticator procedure). No raw password appears here:
 * a salted WAMP-CRA user is stored as its PBKDF2 key.
 */

export type CredentialSource = 'static' | 'issued' | 'dynamic';

/** Which credential a session authenticated with, so it can be re-verified or revoked later. */
export interface CredentialRef {
  method: string;
  authid: string;
  source: CredentialSource;
  /** Issued credentials only. */
  credentialId?: string;
  /** Epoch ms after which the session must end; issued credentials only. */
  expiresAt?: number;
  /** Digest of the key, ticket or public key used (see crypto.fingerprint). */
  fingerprint?: string;
  /** When the credential was minted (a revocations `tick()`): a revoke of the authid kills it if later. */
  mintedAt?: number;
}

export interface SaltParams {
  salt: string;
  iterations: number;
  keylen: number;
}

export interface CraUser {
  authid: string;
  role: string;
  /** The HMAC key text: the plain secret, or the base64 PBKDF2 key of a salted user. */
  key: string;
  salted?: SaltParams;
  source: CredentialSource;
  credentialId?: string;
  expiresAt?: number;
  extra?: Dict;
  mintedAt?: number;
}

export interface TicketUser {
  authid: string;
  role: string;
  ticket: string;
  extra?: Dict;
  mintedAt?: number;
}

export interface CryptosignUser {
  authid: string;
  role: string;
  pubkeys: string[];
  extra?: Dict;
  mintedAt?: number;
}
