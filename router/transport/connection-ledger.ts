import type { Limits } from '../limits.js';

/**
 * The connection caps of limits.ts, counted per connection from the moment it is accepted (not
 * from its upgrade), so a peer that sends half a request holds, and is held to, a slot:
 * - `maxConnections`: every accepted connection and every in-process session;
 * - `maxConnectionsPerIp`: from accept; behind a trusted proxy (whose own address says nothing)
 *   from the moment the forwarded client address is known;
 * - `maxUnauthenticatedConnections`: until the connection's WAMP session joins a realm (an HTTP
 *   bridge connection never does: each of its requests is authenticated on its own).
 */

export type Refusal = 'router closing' | 'connection limit' | 'unauthenticated limit' | 'address limit';

export class ConnectionLedger {
  total = 0;
  unauthenticated = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: Limits, readonly closing: () => boolean = () => false) {}

  /** Why a new connection (from `address`, when it is known yet) would be refused now. */
  refusal(address: string | undefined): Refusal | undefined {
    if (this.closing()) return 'router closing';
    if (this.total >= this.limits.maxConnections) return 'connection limit';
    if (this.unauthenticated >= this.limits.maxUnauthenticatedConnections) return 'unauthenticated limit';
    if (address !== undefined && !this.addressHasRoom(address)) return 'address limit';
    return undefined;
  }

  addressHasRoom(address: string): boolean {
    return (this.perAddress.get(address) ?? 0) < this.limits.maxConnectionsPerIp;
  }

  /** Count a new connection, or say why not. `address` undefined: not known yet (trusted proxy). */
  open(address: string | undefined): ConnectionSlot | Refusal {
    const refusal = this.refusal(address);
    if (refusal) return refusal;
    return this.track(address);
  }

  /** Count without asking the caps: in-process sessions, which backend code opens on purpose. */
  track(address: string | undefined): ConnectionSlot {
    this.total++;
    this.unauthenticated++;
    const slot = new ConnectionSlot(this);
    if (address !== undefined) slot.identify(address);
    return slot;
  }

  /** Connections counted for `address` (for tests and the status page). */
  countFor(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** @internal ConnectionSlot's bookkeeping. */
  addAddress(address: string, delta: 1 | -1): void {
    const count = (this.perAddress.get(address) ?? 0) + delta;
    if (count <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, count);
  }
}

/** One counted connection; every method is idempotent, so each owner may call release(). */
export class ConnectionSlot {
  private address: string | undefined;
  private unauthenticated = true;
  private released = false;

  constructor(private readonly ledger: ConnectionLedger) {}

  /**
   * The client's address is known (at once, or behind a trusted proxy after the request head or
   * PROXY line). False when that address is at its cap; the connection must then be refused.
   */
  identify(address: string): boolean {
    if (this.released) return false;
    if (this.address !== undefined) return true;
    if (!this.ledger.addressHasRoom(address)) return false;
    this.address = address;
    this.ledger.addAddress(address, 1);
    return true;
  }

  /** Its WAMP session joined a realm: it no longer counts as unauthenticated. */
  authenticated(): void {
    if (this.released || !this.unauthenticated) return;
    this.unauthenticated = false;
    this.ledger.unauthenticated--;
  }

  /** The connection is gone. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.ledger.total--;
    if (this.unauthenticated) this.ledger.unauthenticated--;
    if (this.address !== undefined) this.ledger.addAddress(this.address, -1);
  }
}
