import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import type { ConnectionHandler, Listener, ListeningAddress } from './listener.js';
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

/**
 * WAMP on an application's http/https server (Express, Fastify): binds to its `upgrade` event for
 * one path, with exactly the refusals, caps and limits of a WebSocket listener. Closing detaches
 * and ends the WAMP connections; the application's server keeps running.
 */
export class AttachedWebSocket implements Listener {
  private readonly upgrader: WebSocketUpgrader;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private attached = true;

  constructor(private readonly server: HttpServer | HttpsServer, options: AttachOptions, limits: Limits, logger: Logger, handler: ConnectionHandler) {
    this.upgrader = new WebSocketUpgrader(attachConfig(options), limits, logger, handler);
    this.onUpgrade = (req, socket, head) => {
      // Another upgrade handler on the same server (say, a dev server's HMR) owns other paths.
      if (!this.upgrader.matches(req) && this.server.listenerCount('upgrade') > 1) return;
      this.upgrader.upgrade(req, socket, head);
    };
    server.on('upgrade', this.onUpgrade);
    this.upgrader.start();
  }

  listen(): Promise<ListeningAddress> {
    return Promise.reject(new Error('an attached router is served by the application server'));
  }

  stopAccepting(): Promise<void> {
    if (this.attached) {
      this.attached = false;
      this.server.off('upgrade', this.onUpgrade);
      this.upgrader.stop();
    }
    return Promise.resolve();
  }

  terminateAll(): void {
    this.upgrader.terminateAll();
  }
}
