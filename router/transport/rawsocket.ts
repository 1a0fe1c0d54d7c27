import { isUtf8 } from 'node:buffer';
import { isIP, type Socket } from 'node:net';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import { serializerByRawSocketId } from '../serializer/registry.js';
import type { Serializer } from '../serializer/serializer.js';
import { Housekeeper } from './housekeeping.js';
import { SocketInfo, type ConnectionHandler } from './listener.js';
import { MonitoredTransport } from './monitored.js';
import { writeChunks, type Framing } from './outbox.js';
import type { GatedConnection } from './socket-gate.js';
import type { TransportInfo, TransportSink } from './transport.js';

/**
 * WAMP RawSocket over TCP, or TLS when the listener has `tls` (wamp-spec §11.3).
 *
 * Handshake: the client sends `0x7F, LLLL SSSS, 0x00, 0x00`; we answer with the same shape, the
 * serializer echoed and LLLL the largest length exponent we accept (from maxMessageBytes). Errors
 * are `0x7F, EEEE 0000, 0, 0` and then the connection is closed: 1 serializer not served here,
 * 3 reserved octets not zero, 4 connection cap reached. Error 2 is never sent: every client length
 * is acceptable, and a message that would exceed what the client announced closes that session
 * instead of being sent. A first octet other than 0x7F is not RawSocket and is dropped at once.
 *
 * Framing: a 4-octet header `RRRR XTTT` + 24-bit big-endian length, then the payload. TTT 0 is a
 * WAMP message, 1 PING (answered at once with a PONG echoing the payload), 2 PONG; anything else,
 * reserved bits, or a length above our maximum fails the connection. Outbound accounting, write
 * stalls, liveness pings and the close timeout are the same as for WebSocket (MonitoredTransport).
 *
 * With `trustProxy` (only behind a TCP proxy you run, e.g. HAProxy `send-proxy`), every connection
 * must start with a PROXY protocol v1 line, whose source address is then the client's address for
 * the per-IP cap and the logs; a connection without one is dropped.
 */

const MAGIC = 0x7f;
const FRAME_WAMP = 0;
const FRAME_PING = 1;
const FRAME_PONG = 2;
/** The largest payload a RawSocket frame can carry: 2^24, with the X bit set and 24 zero bits. */
export const RAWSOCKET_MAX_LENGTH = 2 ** 24;

/** A PROXY protocol v1 line is at most 107 octets, CRLF included. */
const PROXY_LINE_MAX = 107;
const PROXY_PREFIX = Buffer.from('PROXY ');

/**
 * `PROXY TCP4|TCP6 <src> <dst> <srcport> <dstport>` (PROXY protocol v1, as HAProxy and nginx send
 * it); `PROXY UNKNOWN …` keeps the socket's own address. Anything else is undefined.
 */
export function parseProxyLine(line: string, socket: Socket): { address: string; port: number | undefined } | undefined {
  if (/^PROXY UNKNOWN( |$)/.test(line)) return { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort };
  const match = /^PROXY (TCP4|TCP6) (\S+) (\S+) (\d{1,5}) (\d{1,5})$/.exec(line);
  if (!match) return undefined;
  const [, family, source, destination, sourcePort] = match;
  const version = family === 'TCP4' ? 4 : 6;
  if (isIP(source!) !== version || isIP(destination!) !== version || Number(sourcePort) > 65535) return undefined;
  return { address: source!, port: Number(sourcePort) };
}

export const RawSocketError = {
  serializerUnsupported: 1,
  maxLengthUnacceptable: 2,
  reservedBits: 3,
  connectionCountReached: 4,
} as const;

/** The exponent LLLL we announce: the largest 2^(9+L) not above `maxBytes` (0..15). */
export function lengthExponentFor(maxBytes: number): number {
  return Math.max(0, Math.min(15, Math.floor(Math.log2(maxBytes)) - 9));
}

/** Bytes received and not yet parsed, kept as the chunks they arrived in (no quadratic concat). */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Remove and return the first `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    this.length -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first!.length === n) return this.chunks.shift()!;
    if (first!.length > n) {
      this.chunks[0] = first!.subarray(n);
      return first!.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}

/** A frame header `RRRR XTTT` + 24-bit length at `offset`; returns the offset after it. */
function writeFrameHeader(target: Buffer, offset: number, type: number, length: number): number {
  // Exactly 2^24 sets the X bit with a zero 24-bit length (wamp-spec §11.3).
  target[offset] = length === RAWSOCKET_MAX_LENGTH ? 0x08 | type : type;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  return offset + 4;
}

/** WAMP message frames (type 0), as the outbox writes them. */
const RAWSOCKET_FRAMING: Framing = {
  headerLength: () => 4,
  writeHeader: (target, offset, length) => writeFrameHeader(target, offset, FRAME_WAMP, length),
};

export class RawSocketTransport extends MonitoredTransport {
  /** Where WAMP messages go; set right after the router accepted the transport. */
  sink: TransportSink | undefined;
  private readonly input = new ByteQueue();
  private header: { type: number; length: number } | undefined;
  private paused = false;
  private pingCount = 0;

  constructor(
    private readonly socket: Socket,
    readonly serializer: Serializer,
    readonly info: TransportInfo,
    limits: Limits,
    /** What the client announced it accepts: 2^(9+L). */
    readonly peerMaxBytes: number,
    /** What we accept from the client. */
    readonly maxInboundBytes: number,
  ) {
    super(limits);
  }

  protected readonly framing = RAWSOCKET_FRAMING;

  protected admit(_frame: Buffer | string, length: number): boolean {
    if (length <= this.peerMaxBytes) return true;
    // Sending it would break the protocol, dropping it would lose a message silently.
    this.closeReason ??= 'message too large for the peer';
    this.close(1009, 'message too large for the peer');
    return false;
  }

  protected writeChunks(chunks: Buffer[]): void {
    writeChunks(this.socket, chunks);
  }

  /** A PING or PONG: not a WAMP message, written at once (after what this turn queued). */
  private writeControl(type: number, payload: Buffer): void {
    this.flush();
    const frame = Buffer.allocUnsafe(4 + payload.length);
    writeFrameHeader(frame, 0, type, payload.length);
    payload.copy(frame, 4);
    this.socket.write(frame);
  }

  protected beginClose(): void {
    this.socket.end();
  }

  protected terminate(): void {
    this.socket.destroy();
  }

  protected ping(): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(++this.pingCount >>> 0);
    this.writeControl(FRAME_PING, payload);
  }

  bufferedBytes(): number {
    return this.socket.writableLength + this.queuedBytes();
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    this.pump();
  }

  /** Bytes from the socket (after the handshake). */
  feed(chunk: Buffer): void {
    if (this.closed) return;
    this.input.push(chunk);
    this.pump();
  }

  /** Parse and deliver every complete frame, unless paused (then the rest waits in `input`). */
  private pump(): void {
    while (!this.paused && !this.closed) {
      if (!this.header) {
        if (this.input.length < 4) return;
        const head = this.input.take(4);
        const type = head[0]! & 0x07;
        let length = head.readUIntBE(1, 3);
        if ((head[0]! & 0xf0) !== 0 || type > FRAME_PONG) return this.fail('protocol violation: reserved frame bits or type');
        if (head[0]! & 0x08) {
          if (length !== 0) return this.fail('protocol violation: bad frame length');
          length = RAWSOCKET_MAX_LENGTH;
        }
        if (length > this.maxInboundBytes) return this.fail('message too large');
        this.header = { type, length };
      }
      const { type, length } = this.header;
      if (this.input.length < length) return;
      const payload = this.input.take(length);
      this.header = undefined;
      if (type === FRAME_PING) {
        this.writeControl(FRAME_PONG, payload);
      } else if (type === FRAME_PONG) {
        this.alive = true;
      } else {
        if (!this.serializer.binary && !isUtf8(payload)) return this.fail('protocol violation: invalid UTF-8');
        this.sink?.receive(payload, this.serializer.binary);
      }
    }
  }

  private fail(reason: string): void {
    this.input.clear();
    this.kill(reason);
  }
}

/**
 * The RawSocket side of a listener (a `rawsocket` listener, or a `universal` one whose connection
 * started with 0x7F): the handshake on a connection the SocketGate admitted (and times out), then
 * the transport.
 */
export class RawSocketAcceptor {
  private readonly transports = new Set<RawSocketTransport>();
  private readonly housekeeper: Housekeeper;
  private readonly maxInboundBytes: number;
  private readonly lengthExponent: number;
  private stopping = false;

  constructor(
    private readonly config: Pick<ListenerConfig, 'serializers' | 'trustProxy'>,
    private readonly limits: Limits,
    private readonly logger: Logger,
    private readonly handler: ConnectionHandler,
  ) {
    this.maxInboundBytes = Math.min(limits.maxMessageBytes, RAWSOCKET_MAX_LENGTH);
    this.lengthExponent = lengthExponentFor(this.maxInboundBytes);
    this.housekeeper = new Housekeeper(limits, (now, pingDue) => {
      for (const transport of this.transports) transport.tick(now, pingDue);
    });
  }

  start(): void {
    this.housekeeper.start();
  }

  stop(): void {
    this.stopping = true;
    this.housekeeper.stop();
  }

  terminateAll(): void {
    for (const transport of this.transports) transport.kill('shutdown');
  }

  /** A connection the gate admitted; `first` is what a universal listener already read from it. */
  accept(connection: GatedConnection, first?: Buffer): void {
    const socket = connection.socket;
    let received: Buffer = Buffer.alloc(0);
    let peer: { address: string; port: number | undefined } | undefined = this.config.trustProxy
      ? undefined
      : { address: socket.remoteAddress ?? connection.raw.remoteAddress ?? 'unknown', port: socket.remotePort ?? connection.raw.remotePort };
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (!peer) {
        // Behind a trusted TCP proxy (HAProxy `send-proxy`): a PROXY protocol v1 line comes first.
        const prefix = Math.min(received.length, PROXY_PREFIX.length);
        const looksLikeProxy = received.subarray(0, prefix).equals(PROXY_PREFIX.subarray(0, prefix));
        const end = looksLikeProxy ? received.indexOf('\r\n') : -1;
        if (looksLikeProxy && end < 0 && received.length < PROXY_LINE_MAX) return; // the rest of the line is on its way
        const parsed = end < 0 || end + 2 > PROXY_LINE_MAX ? undefined : parseProxyLine(received.subarray(0, end).toString('latin1'), socket);
        if (!parsed) {
          this.logger.limited('listener.rawsocket_refused', { peer: socket.remoteAddress, reason: 'missing or malformed PROXY header' });
          socket.off('data', onData);
          return connection.drop();
        }
        peer = parsed;
        received = received.subarray(end + 2);
      }
      if (received.length < 4) return;
      socket.off('data', onData);
      this.handshake(connection, peer, received.subarray(0, 4), received.subarray(4));
    };
    socket.on('data', onData);
    if (first) onData(first);
  }

  private handshake(connection: GatedConnection, peer: { address: string; port: number | undefined }, hello: Buffer, rest: Buffer): void {
    const { socket, slot } = connection;
    const remoteAddress = peer.address;
    if (hello[0] !== MAGIC) {
      // Not RawSocket at all (an HTTP request, a scanner): no reply, just drop it.
      this.logger.limited('listener.rawsocket_refused', { peer: remoteAddress, reason: 'bad magic octet' });
      return connection.drop();
    }
    const serializerId = hello[1]! & 0x0f;
    const clientExponent = hello[1]! >> 4;
    if (hello[2] !== 0 || hello[3] !== 0) return this.refuse(connection, RawSocketError.reservedBits, 'reserved octets not zero');
    const serializer = serializerByRawSocketId(serializerId, this.config.serializers);
    if (!serializer) return this.refuse(connection, RawSocketError.serializerUnsupported, `serializer ${serializerId} not served`);
    if (this.stopping || !slot.identify(remoteAddress)) {
      this.logger.limited('listener.connection_refused', { peer: remoteAddress, reason: 'connection limit' });
      return this.refuse(connection, RawSocketError.connectionCountReached, 'connection limit reached');
    }

    connection.upgraded();
    socket.write(Buffer.from([MAGIC, (this.lengthExponent << 4) | serializerId, 0, 0]));
    // The `host:port` string is built when something asks for it, as for WebSocket (listener.ts).
    const info = new SocketInfo('rawsocket', remoteAddress, serializer.name, peer.port ?? 0);
    const transport = new RawSocketTransport(socket, serializer, info, this.limits, 2 ** (9 + clientExponent), this.maxInboundBytes);
    this.transports.add(transport);
    transport.sink = this.handler.accept(transport, slot);
    socket.on('data', (chunk: Buffer) => transport.feed(chunk));
    socket.once('close', (hadError: boolean) => {
      this.transports.delete(transport);
      transport.released();
      transport.sink?.transportClosed(hadError ? 1006 : 1000, transport.closeReason ?? '');
    });
    transport.feed(rest);
  }

  /** Handshake error reply, then close (wamp-spec §11.3); a peer that never closes goes after closeHandshakeTimeoutMs. */
  private refuse(connection: GatedConnection, code: number, reason: string): void {
    this.logger.limited('listener.rawsocket_refused', { peer: connection.socket.remoteAddress, reason, code });
    connection.upgraded();
    connection.socket.end(Buffer.from([MAGIC, code << 4, 0, 0]));
    setTimeout(() => connection.drop(), this.limits.closeHandshakeTimeoutMs).unref();
  }
}
