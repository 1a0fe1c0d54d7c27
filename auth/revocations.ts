/**
 * Runtime revocation of authids (`switchyard.auth.revoke`, `ban`, `unban`). A revoke is "log out
 * everywhere": it records a not-before tick for the authid, so every credential and session minted
 * before it is dead and every credential minted after it works. A ban is separate and explicit:
 * the authid is refused whatever its credentials until it is unbanned. Both live in memory for the
 * life of the realm, across config reloads; a restart forgets them (and every issued credential).
 */

let clock = 0;

/**
 * A strictly increasing clock that orders minting against revoking: microseconds of wall-clock
 * time, bumped by one where two events share a microsecond. Milliseconds alone would not do (a
 * credential issued in the same millisecond as a revoke must count as after it), and a counter
 * alone would not compare across the nodes of a cluster; {@link observe} keeps this node's clock
 * ahead of every revocation it has seen from another node, whatever the clocks' skew.
 */
export function tick(): number {
  clock = Math.max(clock + 1, Date.now() * 1000);
  return clock;
}

/** A tick from another node: later ticks here are after it. */
export function observe(remoteTick: number): void {
  if (Number.isSafeInteger(remoteTick) && remoteTick > clock) clock = remoteTick;
}

/** Why a credential is dead: the cause logged for the refusal. */
export type DeadCause = 'revoked' | 'banned';

export class Revocations {
  private readonly notBefore = new Map<string, number>();
  private readonly banned = new Set<string>();

  /** Kill every credential and session of `authid` minted until now; later ones are unaffected. Returns the mark. */
  revoke(authid: string): number {
    const notBefore = tick();
    this.notBefore.set(authid, notBefore);
    return notBefore;
  }

  ban(authid: string): number {
    this.banned.add(authid);
    return this.revoke(authid);
  }

  /** A revoke made on another node (cluster); returns whether it moved this authid's mark. */
  applyRevoke(authid: string, notBefore: number): boolean {
    observe(notBefore);
    if ((this.notBefore.get(authid) ?? -1) >= notBefore) return false;
    this.notBefore.set(authid, notBefore);
    return true;
  }

  /** A ban or unban made on another node (cluster); returns whether anything changed. */
  applyBan(authid: string, banned: boolean): boolean {
    if (banned === this.banned.has(authid)) return false;
    if (banned) this.banned.add(authid);
    else this.banned.delete(authid);
    return true;
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
