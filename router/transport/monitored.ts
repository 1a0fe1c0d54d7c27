import type { Limits } from '../limits.js';
import type { Serializer } from '../serializer/serializer.js';
import { Outbox, type Framing } from './outbox.js';
import { frameLength, type Transport, type TransportInfo } from './transport.js';
import { atEndOfTurn, type TurnWriter } from './write-batch.js';

/**
 * What every socket transport (WebSocket, RawSocket) does the same way, in one place:
 * - outbound accounting: past `maxOutboundBytesPerSession` queued bytes the session ends as a
 *   slow consumer; a message is never dropped while the session is kept;
 * - write stall: bytes queued and not falling for `writeStallTimeoutMs` is a slow consumer too;
 * - liveness: a ping per round from the Housekeeper, and a peer that has not answered the
 *   previous one when the next is due is terminated (stale connection);
 * - close: a graceful close is followed by a hard one after `closeHandshakeTimeoutMs`;
 * - batching: the frames of an event-loop turn are queued in an Outbox and written as one buffer
 *   when the turn ends (write-batch.ts).
 * Subclasses supply the framing and the wire operations.
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
  private wroteThisTurn = false;
  /** Frames of this turn; made on the first write (idle sessions have none). */
  private outbox: Outbox | undefined;

  constructor(protected readonly limits: Limits) {}

  /** How a payload is framed on this connection. */
  protected abstract readonly framing: Framing;
  /**
   * Whether `frame` may go through the outbox; a transport that must send it some other way (or
   * not at all) does so here and returns false.
   */
  protected abstract admit(frame: Buffer | string, length: number): boolean;
  /** Write framed bytes to the socket, in order. */
  protected abstract writeChunks(chunks: Buffer[]): void;
  /** Start a graceful close (WebSocket close frame, TCP FIN). */
  protected abstract beginClose(code: number, reason: string): void;
  /** Drop the connection now. */
  protected abstract terminate(): void;
  protected abstract ping(): void;
  abstract bufferedBytes(): number;

  send(frame: Buffer | string, byteLength?: number): void {
    if (this.closed) return;
    const length = byteLength ?? frameLength(frame);
    if (!this.admit(frame, length)) return;
    if (!this.wroteThisTurn) {
      this.wroteThisTurn = true;
      atEndOfTurn(this);
    }
    (this.outbox ??= new Outbox(this.framing)).push(frame, length);
  }

  /** Write what this turn queued (before a close frame, so nothing sent is lost behind it). */
  protected flush(): void {
    if (this.outbox && !this.outbox.empty) this.writeChunks(this.outbox.take());
  }

  /** Bytes queued in this turn and not yet given to the socket. */
  protected queuedBytes(): number {
    return this.outbox?.bytes ?? 0;
  }

  /**
   * Never drop a message while keeping the session: past the cap the session ends instead.
   * Called once per event-loop turn, after the turn's batched writes went to the kernel
   * (write-batch.ts), so what is counted is what the peer has not taken, not what this turn
   * happened to produce.
   */
  endOfTurn(): void {
    this.wroteThisTurn = false;
    if (!this.closed) this.flush();
    if (!this.closed && this.bufferedBytes() > this.limits.maxOutboundBytesPerSession) this.kill('slow consumer');
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush();
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
