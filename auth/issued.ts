import { randomUUID } from 'node:crypto';
import type { CraUser } from './credentials.js';
import { DEFAULT_ITERATIONS, DEFAULT_KEYLEN, deriveKey, newSalt, newSecret } from './crypto.js';
import { tick } from './revocations.js';

/**
 * Short-lived WAMP-CRA credentials minted at runtime (`switchyard.auth.issue`): a web app logs a
 * user in over HTTPS, asks the router for a per-login secret and hands it to the browser. Only the
 * PBKDF2 key is kept. All live credentials of one authid share that authid's salt, because a
 * CHALLENGE can carry only one; each has its own secret, so each verifies separately. The salt is
 * the one the realm shows the authid while it has no credential (`saltFor`), so issuing one does
 * not change what a CHALLENGE for that authid looks like.
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
  mintedAt: number;
}

/** What other nodes need to verify an issued credential (the PBKDF2 key, never the secret). */
export interface IssuedRecord extends Stored {
  authid: string;
  credentialId: string;
  salt: string;
}

/**
 * Expired credentials are kept this long (they can no longer log in), so a login with one is
 * logged as `expired` rather than as an unknown authid.
 */
const EXPIRED_KEPT_MS = 60_000;
/** Every this many issues all authids are swept, so authids nobody logs in as again are forgotten too. */
const FULL_SWEEP_EVERY = 256;

export class IssuedCredentials {
  private readonly byAuthid = new Map<string, { salt: string; credentials: Map<string, Stored> }>();
  private issuesSinceFullSweep = 0;

  constructor(private readonly saltFor: (authid: string) => string = newSalt, private readonly now: () => number = Date.now) {}

  issue(authid: string, role: string, lifetimeMs: number): IssuedCredential {
    const full = ++this.issuesSinceFullSweep >= FULL_SWEEP_EVERY;
    if (full) this.issuesSinceFullSweep = 0;
    this.sweep(full ? undefined : authid);
    let entry = this.byAuthid.get(authid);
    if (!entry) this.byAuthid.set(authid, (entry = { salt: this.saltFor(authid), credentials: new Map() }));
    const secret = newSecret();
    const credentialId = randomUUID();
    const expiresAt = this.now() + lifetimeMs;
    entry.credentials.set(credentialId, { role, key: deriveKey(secret, entry.salt), expiresAt, mintedAt: tick() });
    return { authid, role, credentialId, secret, salt: entry.salt, iterations: DEFAULT_ITERATIONS, keylen: DEFAULT_KEYLEN, expiresAt };
  }

  /** The stored form of one credential, for the other nodes of a cluster. */
  record(authid: string, credentialId: string): IssuedRecord | undefined {
    const entry = this.byAuthid.get(authid);
    const stored = entry?.credentials.get(credentialId);
    return stored && { ...stored, authid, credentialId, salt: entry!.salt };
  }

  /** A credential issued on another node; returns whether it was new here. */
  adopt(record: IssuedRecord): boolean {
    let entry = this.byAuthid.get(record.authid);
    if (entry?.credentials.has(record.credentialId)) return false;
    // One salt per authid (a CHALLENGE carries one); every node derives the same one from the shared key.
    if (!entry) this.byAuthid.set(record.authid, (entry = { salt: record.salt, credentials: new Map() }));
    entry.credentials.set(record.credentialId, { role: record.role, key: record.key, expiresAt: record.expiresAt, mintedAt: record.mintedAt });
    return true;
  }

  /** The authid an issued credential belongs to. */
  ownerOf(credentialId: string): string | undefined {
    for (const [authid, entry] of this.byAuthid) if (entry.credentials.has(credentialId)) return authid;
    return undefined;
  }

  /** The credentials of `authid` as WAMP-CRA candidates; recently expired ones too (they carry `expiresAt`). */
  lookup(authid: string): CraUser[] {
    this.sweep(authid);
    const entry = this.byAuthid.get(authid);
    if (!entry) return [];
    return [...entry.credentials].map(([credentialId, stored]) => ({
      authid, role: stored.role, key: stored.key, source: 'issued' as const, credentialId, expiresAt: stored.expiresAt, mintedAt: stored.mintedAt,
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

  /** Forget credentials of one authid (all, when called without one) that expired over EXPIRED_KEPT_MS ago. */
  sweep(authid?: string): void {
    const now = this.now();
    const authids = authid === undefined ? [...this.byAuthid.keys()] : [authid];
    for (const id of authids) {
      const entry = this.byAuthid.get(id);
      if (!entry) continue;
      for (const [credentialId, stored] of entry.credentials) {
        if (stored.expiresAt + EXPIRED_KEPT_MS <= now) entry.credentials.delete(credentialId);
      }
      if (entry.credentials.size === 0) this.byAuthid.delete(id);
    }
  }
}
