import type { Limits } from '../limits.js';
import type { Serializer } from '../serializer/serializer.js';
import type { Transport, TransportInfo } from './transport.js';
import type { TurnWriter } from './write-batch.js';

/**
 * What every socket transport (WebSocket, RawSocket) does the same way, in one place:
 * - outbound accounting: past `maxOutboundBytesPerSession` queued bytes the session ends as a
 *   slow consumer; a message is never dropped while the session is kept;
 * - write stall: bytes queued and not falling for `writeStallTimeoutMs` is a slow consumer too;
 * - liveness: a ping per round from the Housekeeper, and a peer that has not answered the
 *   previous one when the next is due is terminated (stale connection);
 * - close: a graceful close is followed by a hard one after `closeHandshakeTimeoutMs`.
 * Subclasses supply the wire operations.
 */
export abstract class MonitoredTransport implements Transport, TurnWriter {
  abstract readonly info: TransportInfo;
  abstract readonly serializer: Serializer;
  /** Why the router ended the connection, when it did (slow consumer, stale, …). */
  closeReason: string | undefined;
  /** Set when the peer answered the last ping (or any pong arrived). */
  alive = true;
  protected closed = false;
  private stalledSince = 0;
  private lastBuffered = 0;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(protected readonly limits: Limits) {}

  /** Queue one frame on the wire. */
  protected abstract write(frame: Buffer | string): void;
  /** Start a graceful close (WebSocket close frame, TCP FIN). */
  protected abstract beginClose(code: number, reason: string): void;
  /** Drop the connection now. */
  protected abstract terminate(): void;
  protected abstract ping(): void;
  abstract bufferedBytes(): number;

  send(frame: Buffer | string): void {
    if (this.closed) return;
    this.write(frame);
  }

  /**
   * Never drop a message while keeping the session: past the cap the session ends instead.
   * Called once per event-loop turn, after the turn's batched writes went to the kernel
   * (write-batch.ts), so what is counted is what the peer has not taken, not what this turn
   * happened to produce.
   */
  endOfTurn(): void {
    if (!this.closed && this.bufferedBytes() > this.limits.maxOutboundBytesPerSession) this.kill('slow consumer');
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.beginClose(code, reason);
    // A peer that never completes the close handshake is cut off.
    this.closeTimer = setTimeout(() => this.terminate(), this.limits.closeHandshakeTimeoutMs);
    this.closeTimer.unref();
  }

  /** Drop the connection without a close handshake, remembering why. */
  kill(reason: string): void {
    this.closeReason ??= reason;
    this.closed = true;
    this.terminate();
  }

  /** Called when the socket has closed, whoever closed it. */
  released(): void {
    this.closed = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
  }

  /** Periodic liveness: ping, and detect writes that stopped draining. */
  tick(now: number, pingDue: boolean): void {
    if (this.closed) return;
    if (pingDue) {
      if (!this.alive) return this.kill('stale connection');
      this.alive = false;
      this.ping();
    }
    const buffered = this.bufferedBytes();
    if (buffered === 0 || buffered < this.lastBuffered) this.stalledSince = 0;
    else if (this.stalledSince === 0) this.stalledSince = now;
    else if (now - this.stalledSince > this.limits.writeStallTimeoutMs) this.kill('slow consumer');
    this.lastBuffered = buffered;
  }
}
