import type { IncomingMessage } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import { chooseSubprotocol } from '../serializer/registry.js';
import type { Serializer } from '../serializer/serializer.js';
import { Housekeeper } from './housekeeping.js';
import type { ConnectionSlot } from './connection-ledger.js';
import { clientAddress, SocketInfo, type ConnectionHandler, type ListeningAddress } from './listener.js';
import { MonitoredTransport } from './monitored.js';
import type { OriginPolicy } from './origin.js';
import { gatedOf } from './socket-gate.js';
import { WEBSOCKET_BINARY, WEBSOCKET_TEXT, writeChunks, type Framing } from './outbox.js';
import { CloseCode, type TransportInfo, type TransportSink } from './transport.js';

/**
 * WAMP over WebSocket: everything that can be refused is refused at the HTTP upgrade, before a
 * WebSocket exists: wrong path (404), foreign Origin (403, origin.ts), no `wamp.2.*` subprotocol
 * this listener serves (400), the per-address cap behind a trusted proxy (503; the other caps
 * were applied when the connection was accepted, socket-gate.ts). Compression is off unless configured (OWASP;
 * inflated messages are capped by maxMessageBytes either way).
 */

export class WebSocketTransport extends MonitoredTransport {
  /** Where messages go; set right after the router accepted the transport. */
  sink: TransportSink | undefined;
  private paused = false;
  /**
   * Messages ws had already parsed when reading was paused: ws keeps emitting those, so they wait
   * here and go to the session only on resume. Bounded by what one socket read can hold. Created
   * on the first pause.
   */
  private held: { data: Buffer; binary: boolean }[] | undefined;
  /** No extension negotiated: frames on the wire are exactly what outbox.ts builds. */
  private readonly plainFrames: boolean;

  constructor(
    private readonly socket: WebSocket,
    readonly serializer: Serializer,
    readonly info: TransportInfo,
    limits: Limits,
    private readonly upgrader: WebSocketUpgrader,
  ) {
    super(limits);
    this.plainFrames = socket.extensions === '';
    // Shared listener functions that find this transport through the socket: four closures (and
    // their context) per connection were ~300 bytes of every idle session (issue 16).
    (socket as TransportOwned)[TRANSPORT] = this;
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  /** A message from ws: to the session now, or after resume() when paused. */
  deliver(data: Buffer, binary: boolean): void {
    if (this.closed) return;
    if (this.paused) (this.held ??= []).push({ data, binary });
    else this.sink?.receive(data, binary);
  }

  /** ws reported a socket error; the close that follows ends the session. */
  socketError(error: Error & { code?: string }): void {
    this.upgrader.logger.limited('transport.error', { peer: this.info.peer, code: error.code, error: error.message });
  }

  /** The WebSocket closed, whoever closed it. */
  socketClosed(code: number, reason: Buffer): void {
    this.upgrader.forget(this);
    this.released();
    this.sink?.transportClosed(code, this.closeReason ?? reason.toString());
  }

  protected get framing(): Framing {
    return this.serializer.binary ? WEBSOCKET_BINARY : WEBSOCKET_TEXT;
  }

  /**
   * Frames go to the socket framed by us (outbox.ts), past ws's sender, while that is the same on
   * the wire: the socket is open and no extension (permessage-deflate) rewrites frames. Otherwise
   * ws sends it, and drops it after a close as it always does.
   */
  protected admit(frame: Buffer | string): boolean {
    if (this.socket.readyState === OPEN && this.plainFrames) return true;
    this.socket.send(frame, { binary: this.serializer.binary });
    return false;
  }

  protected writeChunks(chunks: Buffer[]): void {
    // A close frame (ours or the answer to the peer's) may have gone out since the frames were
    // queued; nothing may follow it.
    if (this.socket.readyState !== OPEN) return;
    writeChunks((this.socket as unknown as { _socket: Writable })._socket, chunks);
  }

  protected beginClose(code: number, reason: string): void {
    this.held = undefined;
    this.socket.close(code, reason);
  }

  protected terminate(): void {
    this.held = undefined;
    this.socket.terminate();
  }

  protected ping(): void {
    this.socket.ping();
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount + this.queuedBytes();
  }

  /** Stop reading and stop delivering: nothing reaches the session until resume(). */
  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // The session may pause again (or close) while it works through what was held.
    const held = this.held ?? [];
    let next = 0;
    while (!this.paused && !this.closed && next < held.length) {
      const { data, binary } = held[next++]!;
      this.sink?.receive(data, binary);
    }
    if (this.held === held) this.held = next < held.length ? held.slice(next) : undefined;
    if (!this.paused && !this.closed) this.socket.resume();
  }
}

const OPEN = 1; // WebSocket.OPEN
const TRANSPORT = Symbol('switchyard.transport');
type TransportOwned = WebSocket & { [TRANSPORT]?: WebSocketTransport };

// ws calls its listeners with the WebSocket as `this`.
function transportOf(ws: WebSocket): WebSocketTransport {
  return (ws as TransportOwned)[TRANSPORT]!;
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  transportOf(this).deliver(data, isBinary);
}

function onPong(this: WebSocket): void {
  transportOf(this).alive = true;
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  transportOf(this).socketError(error);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  transportOf(this).socketClosed(code, reason);
}

export type { ConnectionHandler, ListeningAddress };

/** The WebSocket settings the upgrade handling needs (a listener's, or `router.attach`'s). */
export type UpgradeConfig = Pick<ListenerConfig, 'path' | 'serializers' | 'allowedOrigins' | 'requireOrigin' | 'trustProxy' | 'compression'>;

/**
 * The upgrade handling shared by a WebSocket listener (its own http server) and `router.attach`
 * (an application's http/https server): the refusals listed above, the WebSocket server, the
 * transports and their housekeeping.
 */
export class WebSocketUpgrader {
  private readonly wss: WebSocketServer;
  private readonly transports = new Set<WebSocketTransport>();
  private readonly housekeeper: Housekeeper;
  /** The configured path is what URL parsing makes of it, so a request for exactly it matches. */
  private readonly canonicalPath: boolean;
  /**
   * The serializer (or none: null) per Sec-WebSocket-Protocol header value seen, so the header
   * is parsed once per distinct value, not twice per upgrade (ours, then handleProtocols).
   * Bounded: the header is the client's to choose.
   */
  private readonly chosen = new Map<string, Serializer | null>();

  constructor(
    private readonly config: UpgradeConfig,
    private readonly limits: Limits,
    readonly logger: Logger,
    private readonly handler: ConnectionHandler,
    /** Shared with the HTTP bridge on the same port; a reload updates it in place. */
    private readonly origins: OriginPolicy,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxMessageBytes,
      perMessageDeflate: config.compression,
      clientTracking: false,
      // ws calls it only when the header is present, with the request upgrade() already checked.
      handleProtocols: (_offered: Set<string>, req: IncomingMessage) => this.serializerFor(req.headers['sec-websocket-protocol'])?.subprotocol ?? false,
    });
    this.canonicalPath = pathnameOf(config.path) === config.path;
    this.housekeeper = new Housekeeper(limits, (now, pingDue) => {
      for (const transport of this.transports) transport.tick(now, pingDue);
    });
  }

  start(): void {
    this.housekeeper.start();
  }

  stop(): void {
    this.housekeeper.stop();
  }

  terminateAll(): void {
    for (const transport of this.transports) transport.kill('shutdown');
  }

  /** True if `req` is for this path (an attached router leaves other paths to the application). */
  matches(req: IncomingMessage): boolean {
    // The exact (canonical) path needs no URL parse (~10 µs per connection); anything else is normalized first.
    if (req.url === this.config.path && this.canonicalPath) return true;
    return pathnameOf(req.url ?? '/') === this.config.path;
  }

  /** A transport whose WebSocket closed. */
  forget(transport: WebSocketTransport): void {
    this.transports.delete(transport);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.matches(req)) return refuse(socket, 404, 'Not Found');
    if (!this.origins.check(req, this.logger)) return refuse(socket, 403, 'Forbidden');
    const serializer = this.serializerFor(req.headers['sec-websocket-protocol']);
    if (!serializer) return refuse(socket, 400, 'Bad Request', 'no supported WAMP subprotocol offered');
    const remoteAddress = clientAddress(req, this.config.trustProxy);
    const slot = this.slotFor(socket, remoteAddress);
    if (slot === undefined) {
      this.logger.limited('listener.connection_refused', { listener: this.origins.setting, peer: remoteAddress, reason: 'connection limit' });
      return refuse(socket, 503, 'Service Unavailable', 'connection limit reached');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, req, serializer, remoteAddress, slot));
  }

  /** The first subprotocol the client offers that this listener serves (parsed once per distinct header). */
  private serializerFor(header: string | undefined): Serializer | undefined {
    if (!header) return undefined;
    const known = this.chosen.get(header);
    if (known !== undefined) return known ?? undefined;
    const serializer = chooseSubprotocol(parseProtocols(header), this.config.serializers);
    if (this.chosen.size < MAX_CHOSEN) this.chosen.set(header, serializer ?? null);
    return serializer;
  }

  /**
   * The connection's slot, counted for the client's address. A listener's gate counted the
   * connection when it was accepted; on an attach()ed server it is counted from the upgrade.
   */
  private slotFor(socket: Duplex, remoteAddress: string): ConnectionSlot | undefined {
    const gated = gatedOf(socket);
    if (gated) return gated.slot.identify(remoteAddress) ? gated.slot : undefined;
    const opened = this.handler.ledger.open(remoteAddress);
    if (typeof opened === 'string') return undefined;
    socket.once('close', () => opened.release());
    return opened;
  }

  private connected(ws: WebSocket, req: IncomingMessage, serializer: Serializer, remoteAddress: string, slot: ConnectionSlot): void {
    const port = this.config.trustProxy ? 0 : req.socket.remotePort;
    const info = new SocketInfo('websocket', remoteAddress, serializer.subprotocol, port);
    const transport = new WebSocketTransport(ws, serializer, info, this.limits, this);
    this.transports.add(transport);
    transport.sink = this.handler.accept(transport, slot);
  }

}


function pathnameOf(url: string): string {
  return new URL(url, 'http://localhost').pathname;
}

/** Distinct Sec-WebSocket-Protocol values remembered per listener (clients send one or a few). */
const MAX_CHOSEN = 64;

function parseProtocols(header: string): string[] {
  return header.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}

function refuse(socket: Duplex, status: number, text: string, body = text): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body) + 1}\r\n\r\n${body}\n`);
}

export { CloseCode };
