import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { ListenerConfig } from '../config.js';
import type { ConnectionLedger, ConnectionSlot } from './connection-ledger.js';
import type { Transport, TransportInfo, TransportSink } from './transport.js';

/** What a listener asks of the router for every new connection. */
export interface ConnectionHandler {
  /** The router's connection counts; every listener's gate opens a slot per accepted connection. */
  readonly ledger: ConnectionLedger;
  /** Create the session for a new transport on its counted connection; return where its frames go. */
  accept(transport: Transport, slot: ConnectionSlot): TransportSink;
}

export interface ListeningAddress {
  type: ListenerConfig['type'];
  host: string;
  port: number;
  /** WebSocket path; empty for RawSocket and the HTTP bridge. */
  path: string;
  /**
   * `ws://host:port/path` (`wss://`), `rs://host:port` (RawSocket; `rss://` with TLS) or
   * `http://host:port` (the HTTP bridge; `https://`). A universal listener has one per protocol.
   */
  url: string;
  /** Every URL the listener serves: for a universal listener ws, rs and http; else just `url`. */
  urls: string[];
}

/** One configured listener, whatever it speaks (WebSocket, RawSocket, the HTTP bridge, or all on one port). */
export interface Listener {
  listen(): Promise<ListeningAddress>;
  /** Stop accepting connections. Existing sessions are closed by the router first. */
  stopAccepting(): Promise<void>;
  /** Terminate whatever is still open (after the graceful close window). */
  terminateAll(): void;
  /** Apply what a config reload may change on a listener: `allowedOrigins` and `requireOrigin`. */
  reconfigure?(config: ListenerConfig): void;
}

/** Bind `server` and resolve with the address, the host as it goes in a URL (IPv6 in brackets). */
export function bind(server: Server, port: number, host: string): Promise<{ address: AddressInfo; urlHost: string }> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      resolve({ address, urlHost: address.family === 'IPv6' ? `[${address.address}]` : address.address });
    });
  });
}

/**
 * What a socket listener knows of a connection. `peer` (`host:port`) is built when something asks
 * (a log line, the meta API, a login), not held by every idle connection: ~90 bytes each (issue 16).
 */
export class SocketInfo implements TransportInfo {
  constructor(
    readonly type: TransportInfo['type'],
    readonly remoteAddress: string,
    readonly protocol: string,
    /** The client's port (0 behind a trusted proxy, which hides it). */
    private readonly port: number | undefined,
  ) {}

  get peer(): string {
    return `${this.remoteAddress}:${this.port}`;
  }
}

/** The client's address; behind a trusted reverse proxy, the last one it appended to X-Forwarded-For. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const direct = req.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return direct;
  const forwarded = req.headers['x-forwarded-for'];
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  return list[list.length - 1] ?? direct;
}
