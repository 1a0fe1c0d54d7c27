import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import { HttpBridge, type HttpBridgeHost } from './http-bridge.js';
import { bind, clientAddress, type ConnectionHandler, type Listener, type ListeningAddress } from './listener.js';
import { OriginPolicy } from './origin.js';
import { RawSocketAcceptor } from './rawsocket.js';
import { gatedOf, SocketGate, type GatedConnection, type RefusalStyle } from './socket-gate.js';
import { loadTlsOptions } from './tls.js';
import { WebSocketUpgrader } from './websocket.js';

/**
 * Every configured listener: a SocketGate (counting, refusal, upgrade timeout) in front of what
 * the listener's type speaks:
 * - `websocket`: WAMP over WebSocket on `path` (other requests: 426 on the path, else 404);
 * - `rawsocket`: WAMP RawSocket;
 * - `http`: the HTTP bridge;
 * - `universal`: all three on one port, told apart by the first byte (0x7F is RawSocket: an HTTP
 *   request starts with a method name) and then by the request (an upgrade on `path` is
 *   WebSocket, a bridge route is the bridge), with one Origin policy and the same caps.
 * HTTP is parsed by an http.Server that never listens itself: the gate hands it each connection.
 */

const RAWSOCKET_MAGIC = 0x7f;

const REFUSAL: Record<ListenerConfig['type'], RefusalStyle> = { websocket: 'http', http: 'http', rawsocket: 'rawsocket', universal: 'sniff' };

export class SocketListener implements Listener {
  private readonly gate: SocketGate;
  private readonly origins: OriginPolicy;
  private readonly rawsocket: RawSocketAcceptor | undefined;
  private readonly upgrader: WebSocketUpgrader | undefined;
  private readonly bridge: HttpBridge | undefined;
  private readonly http: HttpServer | undefined;

  constructor(index: number, private readonly config: ListenerConfig, limits: Limits, logger: Logger, handler: ConnectionHandler, bridgeHost: HttpBridgeHost) {
    const setting = `listeners[${index}]`;
    const type = config.type;
    this.origins = new OriginPolicy(config, setting);
    if (type === 'rawsocket' || type === 'universal') this.rawsocket = new RawSocketAcceptor(config, limits, logger, handler);
    if (type === 'websocket' || type === 'universal') this.upgrader = new WebSocketUpgrader(config, limits, logger, handler, this.origins);
    if (type === 'http' || type === 'universal') this.bridge = new HttpBridge(config, limits, logger, bridgeHost, this.origins);
    if (type !== 'rawsocket') this.http = this.httpFront();
    this.gate = new SocketGate({
      ledger: handler.ledger, limits, logger, setting, trustProxy: config.trustProxy, refusal: REFUSAL[type],
      secureContext: config.tls ? createSecureContext(loadTlsOptions(config.tls)) : undefined,
    }, (connection) => this.dispatch(connection));
  }

  async listen(): Promise<ListeningAddress> {
    const { address, urlHost } = await bind(this.gate.server, this.config.port, this.config.host);
    this.rawsocket?.start();
    this.upgrader?.start();
    const hostPort = `${urlHost}:${address.port}`;
    this.origins.address = hostPort;
    const secure = this.config.tls !== undefined;
    const byType = {
      websocket: `${secure ? 'wss' : 'ws'}://${hostPort}${this.config.path}`,
      rawsocket: `${secure ? 'rss' : 'rs'}://${hostPort}`,
      http: `${secure ? 'https' : 'http'}://${hostPort}`,
    };
    const urls = this.config.type === 'universal' ? [byType.websocket, byType.rawsocket, byType.http] : [byType[this.config.type]];
    const path = this.upgrader ? this.config.path : '';
    return { type: this.config.type, host: address.address, port: address.port, path, url: urls[0]!, urls };
  }

  reconfigure(config: ListenerConfig): void {
    this.origins.update(config);
  }

  async stopAccepting(): Promise<void> {
    this.rawsocket?.stop();
    this.upgrader?.stop();
    await this.gate.stop();
  }

  terminateAll(): void {
    this.rawsocket?.terminateAll();
    this.upgrader?.terminateAll();
    this.bridge?.terminateAll();
    this.gate.terminateAll();
  }

  private dispatch(connection: GatedConnection): void {
    if (this.config.type === 'rawsocket') return this.rawsocket!.accept(connection);
    if (this.config.type !== 'universal') return this.toHttp(connection.socket);
    // Universal: the first byte says which protocol. The bytes go back to the stream for HTTP.
    const socket = connection.socket;
    socket.once('data', (first: Buffer) => {
      if (first[0] === RAWSOCKET_MAGIC) return this.rawsocket!.accept(connection, first);
      socket.pause();
      socket.unshift(first);
      this.toHttp(socket);
      socket.resume();
    });
  }

  private toHttp(socket: Socket): void {
    this.http!.emit('connection', socket);
  }

  private httpFront(): HttpServer {
    const http = createHttpServer((req, res) => this.request(req, res));
    http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      gatedOf(socket)?.upgraded();
      if (this.upgrader) this.upgrader.upgrade(req, socket, head);
      else socket.destroy();
    });
    http.on('clientError', (_error, socket) => socket.destroy());
    return http;
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const gated = gatedOf(req.socket);
    gated?.requestStarted(res);
    if (this.bridge && (this.bridge.route(req) !== undefined || !this.upgrader)) {
      // Behind a trusted proxy the connection is counted for the forwarded address of its first request.
      if (gated && !gated.slot.identify(clientAddress(req, this.config.trustProxy))) {
        res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' });
        return void res.end('connection limit reached\n');
      }
      return this.bridge.serve(req, res);
    }
    const onPath = this.upgrader!.matches(req);
    res.writeHead(onPath ? 426 : 404, { 'content-type': 'text/plain', ...(onPath ? { upgrade: 'websocket' } : {}) });
    res.end(onPath ? 'WAMP over WebSocket: upgrade required\n' : 'Not Found\n');
  }
}
