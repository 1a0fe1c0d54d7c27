import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import { timeoutList, type Expiring, type TimeoutList } from '../timeouts.js';
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
export class GatedConnection implements Expiring {
  /** The upgrade timeout's list while the head is awaited (one Node timer for all connections: timeouts.ts). */
  private waiting: TimeoutList | undefined;
  /** HTTP requests whose response is not finished yet (keep-alive, pipelining). */
  private requests = 0;

  constructor(
    /** What the protocol is spoken on: the TCP socket, or the TLS socket over it. */
    readonly socket: Socket,
    readonly raw: Socket,
    readonly slot: ConnectionSlot,
    /** Told when the head is late (a method, not a closure per connection: issue 16). */
    readonly gate: SocketGate,
  ) {
    this.awaitHead();
  }

  /** The upgrade request or handshake is complete: the protocol's own timeouts take over. */
  upgraded(): void {
    this.waiting?.cancel(this);
    this.waiting = undefined;
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
    this.upgraded();
    this.waiting = timeoutList('upgrade timeout', this.gate.upgradeTimeoutMs);
    this.waiting.start(this);
  }

  /** @internal The head did not complete in time. */
  timedOut(list: TimeoutList): void {
    if (this.waiting !== list) return;
    this.waiting = undefined;
    this.gate.headTimedOut(this);
  }

  get waitingForHead(): boolean {
    return this.waiting !== undefined;
  }

  drop(): void {
    this.upgraded();
    this.socket.destroy();
    if (this.raw !== this.socket) this.raw.destroy();
  }
}

/** Keyed by the socket the protocol is spoken on and, under TLS, by the TCP socket too. */
const gated = new WeakMap<object, GatedConnection>();

// Shared socket listeners (called with the socket as `this`) that find the connection through
// `gated`: two closures and their context per connection were ~180 bytes of every idle session.
function onSocketError(this: Socket, error: Error & { code?: string }): void {
  const connection = gated.get(this);
  connection?.gate.socketError(connection, error);
}

function onSocketClose(this: Socket): void {
  const connection = gated.get(this);
  connection?.gate.gone(connection);
}

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

  get upgradeTimeoutMs(): number {
    return this.options.limits.upgradeTimeoutMs;
  }

  /** @internal A connection's upgrade request, handshake or request head did not complete in time. */
  headTimedOut(connection: GatedConnection): void {
    this.options.logger.limited('listener.upgrade_timeout', { listener: this.options.setting, peer: connection.raw.remoteAddress, timeoutMs: this.upgradeTimeoutMs });
    connection.drop();
  }

  /** @internal An error on the TCP or TLS socket; the close that follows releases the slot. */
  socketError(connection: GatedConnection, error: Error & { code?: string }): void {
    this.logError(connection.raw, error);
  }

  private logError(raw: Socket, error: Error & { code?: string }): void {
    this.options.logger.limited('transport.error', { listener: this.options.setting, peer: raw.remoteAddress, code: error.code, error: error.message });
  }

  /** @internal The TCP or TLS socket closed (whichever first): the connection's slot is free. */
  gone(connection: GatedConnection): void {
    if (!this.live.delete(connection)) return;
    connection.drop();
    connection.slot.release();
  }

  private accepted(raw: Socket): void {
    const { ledger } = this.options;
    const direct = raw.remoteAddress;
    const slot = this.stopping || direct === undefined ? 'router closing' : ledger.open(this.options.trustProxy ? undefined : direct);
    if (typeof slot === 'string') {
      raw.on('error', (error: Error & { code?: string }) => this.logError(raw, error));
      return this.refuse(raw, slot);
    }
    raw.on('error', onSocketError);

    const context = this.options.secureContext;
    const socket = context ? new TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    const connection = new GatedConnection(socket, raw, slot, this);
    this.live.add(connection);
    gated.set(raw, connection);
    raw.on('close', onSocketClose); // 'close' comes once: `on` spares a once-wrapper per connection
    if (socket !== raw) {
      gated.set(socket, connection);
      socket.on('error', onSocketError);
      socket.on('close', onSocketClose);
    }
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
