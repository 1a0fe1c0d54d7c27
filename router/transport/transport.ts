import type { Serializer } from '../serializer/serializer.js';

/**
 * What the session needs from a connection, whatever carries it (WebSocket, RawSocket, in-process).
 * Keeping the core behind this interface lets broker and dealer tests run without sockets.
 */

export interface TransportInfo {
  type: 'websocket' | 'rawsocket' | 'memory';
  /** `host:port` of the remote end (after trusted proxy headers, when configured). */
  peer: string;
  remoteAddress: string;
  /** Negotiated WebSocket subprotocol or RawSocket serializer name. */
  protocol: string;
}

/** An encoded frame's length in bytes (UTF-8 for a text frame): what `Transport.send`'s byteLength means. */
export function frameLength(frame: Buffer | string): number {
  return typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
}

export interface Transport {
  readonly info: TransportInfo;
  readonly serializer: Serializer;
  /** Queue one encoded WAMP message; `byteLength` is its length when the caller knows it. */
  send(frame: Buffer | string, byteLength?: number): void;
  /** Close the connection (WebSocket close code and short reason). Idempotent. */
  close(code: number, reason: string): void;
  /** Bytes accepted by `send` and not yet written to the kernel. */
  bufferedBytes(): number;
  /**
   * Stop reading from the peer (backpressure on a flooding session) and start again. While paused
   * no message reaches the sink, not even one already read from the socket.
   */
  pause?(): void;
  resume?(): void;
}

/** What a transport calls back into; implemented by Session. */
export interface TransportSink {
  receive(frame: Buffer | string, binary: boolean): void;
  transportClosed(code: number, reason: string): void;
}

/** WebSocket close codes used by the router (RFC 6455 §7.4.1 and the registered 4xxx range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;
