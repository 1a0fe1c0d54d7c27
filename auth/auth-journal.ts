/**
 * The changes to a realm's authentication state that happen at runtime (issued credentials,
 * revocations, bans), as records another node can replay. On one node nothing reads them; in a
 * cluster (router/cluster/auth-link.ts) every change is written to a file-backed KV bucket that
 * every node watches, so a credential issued on one node logs in on any node, and a revocation made
 * anywhere reaches every node, also one that was cut off when it happened.
 */

import type { IssuedCredentials, IssuedRecord } from './issued.js';
import type { Revocations } from './revocations.js';

export type AuthEvent =
  | { kind: 'issued'; record: IssuedRecord }
  | { kind: 'credential_revoked'; authid: string; credentialId: string }
  | { kind: 'revoked'; authid: string; notBefore: number }
  | { kind: 'banned'; authid: string; notBefore: number }
  | { kind: 'unbanned'; authid: string };

/** Where a realm's auth state sends its changes (nowhere on a single node). */
export interface AuthJournal {
  record(event: AuthEvent): void;
  /**
   * Resolves once every other live node has applied the changes recorded so far, with the number
   * of sessions those nodes closed for them; 0 at once when there are none, or when this node is
   * cut off (its changes then reach the others when it is back).
   */
  settle(): Promise<number>;
}

/**
 * Applies a change made on another node (or this node's own change read back: applying twice
 * changes nothing). Returns whether a live session may have lost its credential, so the realm
 * should check its sessions again.
 */
export function applyAuthEvent(event: AuthEvent, issued: IssuedCredentials, revocations: Revocations): boolean {
  switch (event.kind) {
    case 'issued':
      issued.adopt(event.record);
      return false;
    case 'credential_revoked':
      return issued.revokeCredential(event.credentialId);
    case 'revoked': {
      const moved = revocations.applyRevoke(event.authid, event.notBefore);
      if (moved) issued.revokeAuthid(event.authid);
      return moved;
    }
    case 'banned': {
      const changed = revocations.applyBan(event.authid, true);
      const moved = revocations.applyRevoke(event.authid, event.notBefore);
      if (changed || moved) issued.revokeAuthid(event.authid);
      return changed || moved;
    }
    case 'unbanned':
      return revocations.applyBan(event.authid, false);
  }
}
