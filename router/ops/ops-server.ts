import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bind } from '../transport/listener.js';
import { ConnectionLedger } from '../transport/connection-ledger.js';
import { gatedOf, SocketGate } from '../transport/socket-gate.js';
import type { Limits } from '../limits.js';
import { constantTimeEqual } from '../../auth/crypto.js';
import type { OpsConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { RouterMetrics } from './metrics.js';
import { STATUS_PAGE } from './status-page.js';

/**
 * The operations endpoint (off unless the config has `"ops"`): `/metrics` (Prometheus text),
 * `/healthz`, `/readyz`, `/status` (a static page) and `/status.json`, on its own plain-HTTP port,
 * bound to loopback by default (put a TLS reverse proxy in front to expose it).
 *
 * With `token` set, every path needs `Authorization: Bearer <token>` (compared in constant time).
 * Without a token, the Host header must name the bound address or `localhost`, so that a web page
 * cannot read the endpoint through DNS rebinding. No CORS headers are ever sent.
 *
 * Connections are counted and timed like a listener's (socket-gate.ts: `maxConnectionsPerIp`,
 * `maxConnections`, a complete request head within `upgradeTimeoutMs`), in a count of their own,
 * so that a router full of WAMP clients can still be scraped.
 */

export interface OpsHost {
  readonly metrics: RouterMetrics;
  readonly limits: Limits;
  /** Listening and not shutting down. */
  healthy(): boolean;
  /** Listeners up and realms loaded. */
  ready(): boolean;
  status(): unknown;
}

export interface OpsAddress {
  host: string;
  port: number;
  url: string;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export class OpsServer {
  private readonly http: Server;
  private readonly gate: SocketGate;
  private boundPort = 0;

  constructor(private readonly config: OpsConfig, private readonly host: OpsHost, private readonly logger: Logger) {
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        this.logger.error('ops.internal_error', { error: String((error as Error)?.stack ?? error) });
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    });
    this.http.on('clientError', (_error, socket) => socket.destroy());
    this.http.prependListener('request', (req: IncomingMessage, res: ServerResponse) => gatedOf(req.socket)?.requestStarted(res));
    this.gate = new SocketGate({
      ledger: new ConnectionLedger(host.limits), limits: host.limits, logger, trustProxy: false, secureContext: undefined, refusal: 'http', setting: 'ops',
    }, (connection) => this.http.emit('connection', connection.socket));
  }

  async listen(): Promise<OpsAddress> {
    const { address, urlHost } = await bind(this.gate.server, this.config.port, this.config.host);
    this.boundPort = address.port;
    const url = `http://${urlHost}:${address.port}`;
    this.logger.info('ops.listening', { url, token: this.config.token !== undefined });
    return { host: address.address, port: address.port, url };
  }

  close(): Promise<void> {
    if (!this.gate.server.listening) return Promise.resolve();
    const stopped = this.gate.stop();
    this.gate.terminateAll();
    return stopped;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.config.token !== undefined ? !this.tokenMatches(req) : !this.hostAllowed(req)) {
      if (this.config.token === undefined) return send(res, 403, 'text/plain', 'forbidden host\n');
      res.setHeader('www-authenticate', 'Bearer realm="switchyard-ops"');
      return send(res, 401, 'text/plain', 'unauthorized\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain', 'method not allowed\n');
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics': {
        const registry = this.host.metrics.registry;
        return send(res, 200, registry.contentType, await registry.metrics());
      }
      case '/healthz': {
        const ok = this.host.healthy();
        return send(res, ok ? 200 : 503, 'text/plain', ok ? 'ok\n' : 'shutting down\n');
      }
      case '/readyz': {
        const ok = this.host.ready();
        return send(res, ok ? 200 : 503, 'text/plain', ok ? 'ready\n' : 'not ready\n');
      }
      case '/status':
        if (!this.config.status) break;
        return send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE);
      case '/status.json':
        if (!this.config.status) break;
        return send(res, 200, 'application/json', JSON.stringify(this.host.status()));
    }
    return send(res, 404, 'text/plain', 'not found\n');
  }

  private tokenMatches(req: IncomingMessage): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return match !== null && constantTimeEqual(match[1]!, this.config.token!);
  }

  /** No token: on loopback, refuse Host names other than loopback ones (DNS rebinding from a browser). */
  private hostAllowed(req: IncomingMessage): boolean {
    const bound = this.config.host.toLowerCase();
    if (!LOOPBACK_NAMES.has(bound) && bound !== '::1') return true;
    const header = (req.headers.host ?? '').toLowerCase();
    const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
    return LOOPBACK_NAMES.has(name);
  }

  get port(): number {
    return this.boundPort;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
