import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { ListenerConfig } from '../config.js';
import type { Transport, TransportSink } from './transport.js';

/** What a listener asks of the router for every new connection. */
export interface ConnectionHandler {
  /** May a new connection from this address be accepted now (connection caps)? */
  admit(remoteAddress: string): boolean;
  /** Create the session for a new transport and return where its frames go. */
  accept(transport: Transport): TransportSink;
}

export interface ListeningAddress {
  type: ListenerConfig['type'];
  host: string;
  port: number;
  /** WebSocket path; empty for RawSocket. */
  path: string;
  /** `ws://`, `wss://`, `rs://` (RawSocket) or `rss://` (RawSocket over TLS). */
  url: string;
}

/** One configured listener, whatever it speaks (WebSocket or RawSocket). */
export interface Listener {
  listen(): Promise<ListeningAddress>;
  /** Stop accepting connections. Existing sessions are closed by the router first. */
  stopAccepting(): Promise<void>;
  /** Terminate whatever is still open (after the graceful close window). */
  terminateAll(): void;
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
 * Browsers always send Origin; a page on a foreign origin must not ride the user's cookies into
 * the router (CSWSH). Same-origin and allowlisted origins pass; no Origin means a non-browser
 * client, accepted unless `requireOrigin`.
 */
export function originAllowed(req: IncomingMessage, rules: { allowedOrigins: string[]; requireOrigin: boolean }): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return !rules.requireOrigin;
  if (rules.allowedOrigins.includes('*') || rules.allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
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
