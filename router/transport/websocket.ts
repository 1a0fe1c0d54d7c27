import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import { chooseSubprotocol } from '../serializer/registry.js';
import type { Serializer } from '../serializer/serializer.js';
import type { Transport, TransportInfo, TransportSink } from './transport.js';

/**
 * WebSocket listener: everything that can be refused is refused at the HTTP upgrade, before a
 * WebSocket exists: wrong path (404), foreign Origin (403), no `wamp.2.*` subprotocol this
 * listener serves (400). Compression is off (OWASP; no decompression bombs).
 */

export class WebSocketTransport implements Transport {
  private closed = false;

  constructor(private readonly socket: WebSocket, readonly serializer: Serializer, readonly info: TransportInfo) {}

  send(frame: Buffer | string): void {
    if (this.closed) return;
    this.socket.send(frame, { binary: this.serializer.binary });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  /** Drop the TCP connection without a close handshake. */
  terminate(): void {
    this.closed = true;
    this.socket.terminate();
  }
}

export interface ConnectionHandler {
  /** Create the session for a new transport and return where its frames go. */
  accept(transport: WebSocketTransport): TransportSink;
}

export interface ListeningAddress {
  type: ListenerConfig['type'];
  host: string;
  port: number;
  path: string;
  url: string;
}

export class WebSocketListener {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly transports = new Set<WebSocketTransport>();

  constructor(
    private readonly config: ListenerConfig,
    limits: Limits,
    private readonly logger: Logger,
    private readonly handler: ConnectionHandler,
  ) {
    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('WAMP over WebSocket: upgrade required\n');
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered: Set<string>) => chooseSubprotocol(offered, this.config.serializers)?.subprotocol ?? false,
    });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.http.on('clientError', (_error, socket) => socket.destroy());
  }

  listen(): Promise<ListeningAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.http.once('error', onError);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', onError);
        const address = this.http.address() as AddressInfo;
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve({
          type: this.config.type, host: address.address, port: address.port, path: this.config.path,
          url: `ws://${host}:${address.port}${this.config.path}`,
        });
      });
    });
  }

  /** Stop accepting connections. Existing sessions are closed by the router first. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeIdleConnections?.();
    });
  }

  /** Terminate whatever is still open (after the graceful close window). */
  terminateAll(): void {
    for (const transport of this.transports) transport.terminate();
    this.http.closeAllConnections?.();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== this.config.path) return refuse(socket, 404, 'Not Found');
    if (!this.originAllowed(req)) {
      this.logger.limited('listener.origin_refused', { origin: req.headers.origin, peer: req.socket.remoteAddress });
      return refuse(socket, 403, 'Forbidden');
    }
    const offered = parseProtocols(req.headers['sec-websocket-protocol']);
    const serializer = chooseSubprotocol(offered, this.config.serializers);
    if (!serializer) return refuse(socket, 400, 'Bad Request', 'no supported WAMP subprotocol offered');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, req, serializer));
  }

  private connected(ws: WebSocket, req: IncomingMessage, serializer: Serializer): void {
    const remoteAddress = req.socket.remoteAddress ?? 'unknown';
    const info: TransportInfo = {
      type: 'websocket', remoteAddress, peer: `${remoteAddress}:${req.socket.remotePort}`, protocol: serializer.subprotocol,
    };
    const transport = new WebSocketTransport(ws, serializer, info);
    this.transports.add(transport);
    const sink = this.handler.accept(transport);
    ws.on('message', (data, isBinary) => sink.receive(data as Buffer, isBinary));
    ws.on('error', (error: Error & { code?: string }) => {
      this.logger.limited('transport.error', { peer: info.peer, code: error.code, error: error.message });
    });
    ws.on('close', (code, reason) => {
      this.transports.delete(transport);
      sink.transportClosed(code, reason.toString());
    });
  }

  /**
   * Browsers always send Origin; a page on a foreign origin must not ride the user's cookies into
   * the router (CSWSH). Same-origin and allowlisted origins pass; no Origin means a non-browser
   * client, accepted unless `requireOrigin`.
   */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return !this.config.requireOrigin;
    if (this.config.allowedOrigins.includes('*') || this.config.allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
}

function parseProtocols(header: string | undefined): string[] {
  if (!header) return [];
  return header.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}

function refuse(socket: Duplex, status: number, text: string, body = text): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body) + 1}\r\n\r\n${body}\n`);
}
