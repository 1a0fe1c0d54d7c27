import { randomBytes, randomUUID } from 'node:crypto';
import type { CraUser } from './credentials.js';
import { DEFAULT_ITERATIONS, DEFAULT_KEYLEN, deriveKey, newSecret } from './crypto.js';

/**
 * Short-lived WAMP-CRA credentials minted at runtime (`switchyard.auth.issue`): a web app logs a
 * user in over HTTPS, asks the router for a per-login secret and hands it to the browser. Only the
 * PBKDF2 key is kept. All live credentials of one authid share that authid's salt, because a
 * CHALLENGE can carry only one; each has its own secret, so each verifies separately.
 */

export interface IssuedCredential {
  authid: string;
  role: string;
  credentialId: string;
  /** Given to the caller once, never stored. */
  secret: string;
  salt: string;
  iterations: number;
  keylen: number;
  expiresAt: number;
}

interface Stored {
  role: string;
  key: string;
  expiresAt: number;
}

export class IssuedCredentials {
  private readonly byAuthid = new Map<string, { salt: string; credentials: Map<string, Stored> }>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(authid: string, role: string, lifetimeMs: number): IssuedCredential {
    this.sweep(authid);
    let entry = this.byAuthid.get(authid);
    if (!entry) this.byAuthid.set(authid, (entry = { salt: randomBytes(12).toString('base64url'), credentials: new Map() }));
    const secret = newSecret();
    const credentialId = randomUUID();
    const expiresAt = this.now() + lifetimeMs;
    entry.credentials.set(credentialId, { role, key: deriveKey(secret, entry.salt), expiresAt });
    return { authid, role, credentialId, secret, salt: entry.salt, iterations: DEFAULT_ITERATIONS, keylen: DEFAULT_KEYLEN, expiresAt };
  }

  /** Live credentials of `authid` as WAMP-CRA candidates. */
  lookup(authid: string): CraUser[] {
    this.sweep(authid);
    const entry = this.byAuthid.get(authid);
    if (!entry) return [];
    return [...entry.credentials].map(([credentialId, stored]) => ({
      authid, role: stored.role, key: stored.key, source: 'issued' as const, credentialId, expiresAt: stored.expiresAt,
      salted: { salt: entry.salt, iterations: DEFAULT_ITERATIONS, keylen: DEFAULT_KEYLEN },
    }));
  }

  isLive(authid: string, credentialId: string): boolean {
    const stored = this.byAuthid.get(authid)?.credentials.get(credentialId);
    return stored !== undefined && stored.expiresAt > this.now();
  }

  /** Revoke one credential; returns whether it existed. */
  revokeCredential(credentialId: string): boolean {
    for (const [authid, entry] of this.byAuthid) {
      if (entry.credentials.delete(credentialId)) {
        if (entry.credentials.size === 0) this.byAuthid.delete(authid);
        return true;
      }
    }
    return false;
  }

  /** Revoke every credential of an authid; returns how many there were. */
  revokeAuthid(authid: string): number {
    const count = this.byAuthid.get(authid)?.credentials.size ?? 0;
    this.byAuthid.delete(authid);
    return count;
  }

  get size(): number {
    let n = 0;
    for (const entry of this.byAuthid.values()) n += entry.credentials.size;
    return n;
  }

  /** Forget expired credentials of one authid (all, when called without one). */
  sweep(authid?: string): void {
    const now = this.now();
    const authids = authid === undefined ? [...this.byAuthid.keys()] : [authid];
    for (const id of authids) {
      const entry = this.byAuthid.get(id);
      if (!entry) continue;
      for (const [credentialId, stored] of entry.credentials) if (stored.expiresAt <= now) entry.credentials.delete(credentialId);
      if (entry.credentials.size === 0) this.byAuthid.delete(id);
    }
  }
}
