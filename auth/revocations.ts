/**
 * Runtime revocation of authids (`switchyard.auth.revoke`, `ban`, `unban`). A revoke is "log out
 * everywhere": it records a not-before tick for the authid, so every credential and session minted
 * before it is dead and every credential minted after it works. A ban is separate and explicit:
 * the authid is refused whatever its credentials until it is unbanned. Both live in memory for the
 * life of the realm, across config reloads; a restart forgets them (and every issued credential).
 */

let clock = 0;

/**
 * A strictly increasing counter that orders minting against revoking. Milliseconds would not do:
 * a credential issued in the same millisecond as a revoke must still count as after it.
 */
export function tick(): number {
  return ++clock;
}

/** Why a credential is dead: the cause logged for the refusal. */
export type DeadCause = 'revoked' | 'banned';

export class Revocations {
  private readonly notBefore = new Map<string, number>();
  private readonly banned = new Set<string>();

  /** Kill every credential and session of `authid` minted until now; later ones are unaffected. */
  revoke(authid: string): void {
    this.notBefore.set(authid, tick());
  }

  ban(authid: string): void {
    this.banned.add(authid);
    this.revoke(authid);
  }

  /** Returns whether the authid was banned. */
  unban(authid: string): boolean {
    return this.banned.delete(authid);
  }

  isBanned(authid: string): boolean {
    return this.banned.has(authid);
  }

  /** Why a credential of `authid` minted at `mintedAt` (a `tick()`) is dead; undefined while it lives. */
  deadCause(authid: string, mintedAt: number | undefined): DeadCause | undefined {
    if (this.banned.has(authid)) return 'banned';
    const notBefore = this.notBefore.get(authid);
    return notBefore !== undefined && (mintedAt === undefined || mintedAt <= notBefore) ? 'revoked' : undefined;
  }
}
