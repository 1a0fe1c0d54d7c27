import type { Writable } from 'node:stream';
import { frameLength } from './transport.js';

/**
 * The frames one socket is given during one event-loop turn, framed by us and handed to the
 * socket as one buffer. Going through `ws.send` (or a cork/write/write/uncork per frame) costs a
 * Writable queue entry per chunk, two chunks per frame and a string encoding inside `writev`; the
 * rpc bench profile showed that machinery as a quarter of the router's CPU (issue 16). Small
 * frames are copied into one buffer; a large one (a shared fan-out payload) is passed as its own
 * chunk so it is never copied per receiver.
 */

/** How a transport frames one message: its header, written in front of the payload. */
export interface Framing {
  headerLength(payloadLength: number): number;
  /** Writes the header at `offset`; returns the offset after it. */
  writeHeader(target: Buffer, offset: number, payloadLength: number): number;
}

/** Payloads from this size on are written as their own chunk instead of being copied. */
const COPY_LIMIT = 16 * 1024;

/** A payload written as its own chunk, after its header, instead of being copied. */
function shared(payload: Buffer | string, length: number): boolean {
  return length >= COPY_LIMIT && typeof payload !== 'string';
}

export class Outbox {
  private readonly frames: (Buffer | string)[] = [];
  private readonly lengths: number[] = [];
  /** Bytes queued here, headers included. */
  bytes = 0;
  /** Of those, the bytes take() copies into its buffer (all but the shared payloads). */
  private copied = 0;

  constructor(private readonly framing: Framing) {}

  get empty(): boolean {
    return this.frames.length === 0;
  }

  /** Queue one payload; `length` is its byte length when the caller already knows it. */
  push(payload: Buffer | string, length = frameLength(payload)): void {
    this.frames.push(payload);
    this.lengths.push(length);
    const header = this.framing.headerLength(length);
    this.bytes += header + length;
    this.copied += shared(payload, length) ? header : header + length;
  }

  /**
   * The queued frames as chunks to write in order, and the box emptied: one buffer holding every
   * header and small payload, cut around the shared payloads (usually there are none: one chunk).
   */
  take(): Buffer[] {
    const chunks: Buffer[] = [];
    const joined = Buffer.allocUnsafe(this.copied);
    let start = 0;
    let offset = 0;
    for (let i = 0; i < this.frames.length; i++) {
      const payload = this.frames[i]!;
      const length = this.lengths[i]!;
      offset = this.framing.writeHeader(joined, offset, length);
      if (shared(payload, length)) {
        chunks.push(joined.subarray(start, offset), payload as Buffer);
        start = offset;
      } else {
        offset += typeof payload === 'string' ? joined.write(payload, offset, length, 'utf8') : payload.copy(joined, offset);
      }
    }
    if (offset > start) chunks.push(joined.subarray(start, offset));
    this.frames.length = 0;
    this.lengths.length = 0;
    this.bytes = 0;
    this.copied = 0;
    return chunks;
  }
}

/** Hand what take() returned to `socket`, in order: one chunk as it is, several corked into one writev. */
export function writeChunks(socket: Writable, chunks: readonly Buffer[]): void {
  if (chunks.length === 1) return void socket.write(chunks[0]);
  socket.cork();
  for (const chunk of chunks) socket.write(chunk);
  socket.uncork();
}

/** RFC 6455 §5.2 server-to-client frame header: FIN + opcode, unmasked length. */
function webSocketFraming(opcode: number): Framing {
  return {
    headerLength: (n) => (n < 126 ? 2 : n < 65536 ? 4 : 10),
    writeHeader(target, offset, n) {
      target[offset] = 0x80 | opcode;
      if (n < 126) {
        target[offset + 1] = n;
        return offset + 2;
      }
      if (n < 65536) {
        target[offset + 1] = 126;
        target.writeUInt16BE(n, offset + 2);
        return offset + 4;
      }
      target[offset + 1] = 127;
      target.writeUInt32BE(Math.floor(n / 2 ** 32), offset + 2);
      target.writeUInt32BE(n >>> 0, offset + 6);
      return offset + 10;
    },
  };
}

export const WEBSOCKET_TEXT = webSocketFraming(0x1);
export const WEBSOCKET_BINARY = webSocketFraming(0x2);
