import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import type { ConnectionLedger, ConnectionSlot, Refusal } from './connection-ledger.js';

/**
 * The front door of every listener (WebSocket, RawSocket, HTTP bridge, universal, ops). Each
 * accepted TCP connection is counted in the ledger before a byte is read; over a cap it is told
 * so at once (HTTP 503, RawSocket error 4) and closed; and a connection whose upgrade request,
 * RawSocket handshake or HTTP request head is not complete within `upgradeTimeoutMs` is closed,
 * so half-sent requests (slowloris) neither live on nor escape the caps.
 */

/** How a refused connection is told: HTTP, RawSocket, or by its first byte (universal). */
export type RefusalStyle = 'http' | 'rawsocket' | 'sniff';

/** A refused connection is half-closed and drained this long, so the client reads the reply. */
const LINGER_MS = 1000;
const RAWSOCKET_MAGIC = 0x7f;

export function refusalBytes(style: RefusalStyle, first: Buffer | undefined, reason: string): Buffer {
  if (style === 'rawsocket' || (style === 'sniff' && first?.[0] === RAWSOCKET_MAGIC)) return Buffer.from([RAWSOCKET_MAGIC, 4 << 4, 0, 0]);
  const body = `${reason}\n`;
  return Buffer.from(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export interface GateOptions {
  ledger: ConnectionLedger;
  limits: Limits;
  logger: Logger;
  /** Behind a trusted proxy the per-address count waits for the forwarded address. */
  trustProxy: boolean;
  /** TLS for this listener (read per connection, so a reload could swap it). */
  secureContext: SecureContext | undefined;
  refusal: RefusalStyle;
  /** `listeners[0]` or `ops`, for log lines. */
  setting: string;
}

/** One admitted connection, from accept to close. */
export class GatedConnection {
  private timer: NodeJS.Timeout | undefined;
  /** HTTP requests whose response is not finished yet (keep-alive, pipelining). */
  private requests = 0;

  constructor(
    /** What the protocol is spoken on: the TCP socket, or the TLS socket over it. */
    readonly socket: Socket,
    readonly raw: Socket,
    readonly slot: ConnectionSlot,
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {
    this.awaitHead();
  }

  /** The upgrade request or handshake is complete: the protocol's own timeouts take over. */
  upgraded(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** An HTTP request head is complete; the next one is awaited once every answer is sent. */
  requestStarted(done: { once(event: 'close', listener: () => void): unknown }): void {
    this.requests++;
    this.upgraded();
    done.once('close', () => {
      if (--this.requests === 0 && !this.socket.destroyed) this.awaitHead();
    });
  }

  /** (Re)start the clock for a complete head: a new connection, or an idle kept-alive one. */
  private awaitHead(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    this.timer.unref();
  }

  get waitingForHead(): boolean {
    return this.timer !== undefined;
  }

  drop(): void {
    this.upgraded();
    this.socket.destroy();
    if (this.raw !== this.socket) this.raw.destroy();
  }
}

const gated = new WeakMap<object, GatedConnection>();

/** The gate's record of a socket a protocol handler was given (undefined for attach()). */
export function gatedOf(socket: object): GatedConnection | undefined {
  return gated.get(socket);
}

export class SocketGate {
  readonly server: Server;
  private readonly live = new Set<GatedConnection>();
  private lingering = 0;
  private stopping = false;

  constructor(private readonly options: GateOptions, private readonly dispatch: (connection: GatedConnection) => void) {
    this.server = createServer({ noDelay: true }, (raw) => this.accepted(raw));
  }

  /** Stop accepting; connections still in their upgrade phase go at once. */
  stop(): Promise<void> {
    this.stopping = true;
    for (const connection of this.live) if (connection.waitingForHead) connection.drop();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  terminateAll(): void {
    for (const connection of this.live) connection.drop();
  }

  private accepted(raw: Socket): void {
    const { ledger, logger, setting } = this.options;
    raw.on('error', (error: Error & { code?: string }) => {
      logger.limited('transport.error', { listener: setting, peer: raw.remoteAddress, code: error.code, error: error.message });
    });
    const direct = raw.remoteAddress;
    const slot = this.stopping || direct === undefined ? 'router closing' : ledger.open(this.options.trustProxy ? undefined : direct);
    if (typeof slot === 'string') return this.refuse(raw, slot);

    const context = this.options.secureContext;
    const socket = context ? new TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    const connection = new GatedConnection(socket, raw, slot, this.options.limits.upgradeTimeoutMs, () => {
      logger.limited('listener.upgrade_timeout', { listener: setting, peer: direct, timeoutMs: this.options.limits.upgradeTimeoutMs });
      connection.drop();
    });
    this.live.add(connection);
    gated.set(socket, connection);
    if (socket !== raw) {
      socket.on('error', (error: Error & { code?: string }) => {
        logger.limited('transport.error', { listener: setting, peer: direct, code: error.code, error: error.message });
      });
    }
    const gone = () => {
      if (!this.live.delete(connection)) return;
      connection.drop();
      slot.release();
    };
    raw.once('close', gone);
    socket.once('close', gone);
    this.dispatch(connection);
  }

  /** Over a cap: say so in the listener's protocol (not over TLS: no handshake for a refusal). */
  private refuse(raw: Socket, reason: Refusal): void {
    const { logger, setting, limits } = this.options;
    logger.limited('listener.connection_refused', { listener: setting, peer: raw.remoteAddress, reason });
    if (this.options.secureContext || this.lingering >= limits.maxUnauthenticatedConnections) {
      raw.destroy();
      return;
    }
    this.lingering++;
    const timer = setTimeout(() => raw.destroy(), LINGER_MS);
    timer.unref();
    raw.once('close', () => {
      this.lingering--;
      clearTimeout(timer);
    });
    const reply = (first: Buffer | undefined) => {
      raw.end(refusalBytes(this.options.refusal, first, reason));
      raw.resume(); // drain what the client still sends, so our reply is not lost to a reset
    };
    if (this.options.refusal === 'sniff') raw.once('data', (first: Buffer) => reply(first));
    else reply(undefined);
    raw.once('end', () => raw.destroy());
  }
}
