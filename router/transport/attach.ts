import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import { HttpBridge, type HttpBridgeHost } from './http-bridge.js';
import type { ConnectionHandler, Listener, ListeningAddress } from './listener.js';
import { OriginPolicy } from './origin.js';
import { WebSocketUpgrader, type UpgradeConfig } from './websocket.js';

/** `router.attach(server, options)`: the WebSocket listener keys that apply to a shared server. */
export interface AttachOptions {
  /** Upgrade path served (default `/ws`); other paths are left to the application's own handlers. */
  path?: string;
  serializers?: ListenerConfig['serializers'];
  allowedOrigins?: string[];
  requireOrigin?: boolean;
  trustProxy?: boolean;
  compression?: boolean;
  /**
   * Also serve the HTTP bridge, its routes under this prefix (`"/wamp"` → `/wamp/publish`,
   * `/wamp/call`, `/wamp/auth/challenge`; `""` at the root). Off when absent.
   */
  bridgePath?: string;
}

export function attachConfig(options: AttachOptions): UpgradeConfig {
  return {
    path: options.path ?? '/ws',
    serializers: options.serializers ?? ['json', 'msgpack', 'cbor'],
    allowedOrigins: options.allowedOrigins ?? [],
    requireOrigin: options.requireOrigin ?? false,
    trustProxy: options.trustProxy ?? false,
    compression: options.compression ?? false,
  };
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * WAMP on an application's http/https server (Express, Fastify): binds to its `upgrade` event for
 * one path, with exactly the refusals, caps and limits of a WebSocket listener, and with
 * `bridgePath` serves the HTTP bridge's routes before the application sees them. Connections are
 * counted from their upgrade (the application owns its server's header timeouts). Closing
 * detaches and ends the WAMP connections; the application's server keeps running.
 */
export class AttachedRouter implements Listener {
  private readonly upgrader: WebSocketUpgrader;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private readonly bridge: HttpBridge | undefined;
  /** The application's own request listeners, called for every request the bridge does not take. */
  private readonly appListeners: RequestListener[] = [];
  private readonly onRequest: RequestListener;
  private attached = true;

  constructor(
    private readonly server: HttpServer | HttpsServer,
    options: AttachOptions,
    limits: Limits,
    logger: Logger,
    handler: ConnectionHandler,
    bridgeHost: HttpBridgeHost,
  ) {
    const config = attachConfig(options);
    const origins = new OriginPolicy(config, 'the options of router.attach()');
    this.upgrader = new WebSocketUpgrader(config, limits, logger, handler, origins);
    this.onUpgrade = (req, socket, head) => {
      // Another upgrade handler on the same server (say, a dev server's HMR) owns other paths.
      if (!this.upgrader.matches(req) && this.server.listenerCount('upgrade') > 1) return;
      this.upgrader.upgrade(req, socket, head);
    };
    server.on('upgrade', this.onUpgrade);
    this.upgrader.start();
    const bridge = options.bridgePath === undefined ? undefined : new HttpBridge(config, limits, logger, bridgeHost, origins, options.bridgePath);
    this.bridge = bridge;
    this.onRequest = (req, res) => {
      if (bridge?.route(req) !== undefined) return bridge.serve(req, res);
      for (const listener of this.appListeners) listener.call(this.server, req, res);
    };
    if (bridge) {
      // A 'request' listener cannot stop the others: the bridge takes the event over and passes on the rest.
      this.appListeners.push(...(server.listeners('request') as RequestListener[]));
      server.removeAllListeners('request');
      server.on('request', this.onRequest);
    }
  }

  listen(): Promise<ListeningAddress> {
    return Promise.reject(new Error('an attached router is served by the application server'));
  }

  stopAccepting(): Promise<void> {
    if (this.attached) {
      this.attached = false;
      this.server.off('upgrade', this.onUpgrade);
      this.upgrader.stop();
      if (this.bridge) {
        this.server.off('request', this.onRequest);
        for (const listener of this.appListeners) this.server.on('request', listener);
      }
    }
    return Promise.resolve();
  }

  terminateAll(): void {
    this.upgrader.terminateAll();
    this.bridge?.terminateAll();
  }
}
