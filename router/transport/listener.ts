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
