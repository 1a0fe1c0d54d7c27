import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { Serializer, SerializerName } from '../../router/serializer/serializer.js';
import { DEFAULT_ROLES } from './raw-client.js';
import { withTimeout } from './wait.js';

/**
 * A RawSocket client that speaks exact bytes (wamp-spec §11.3): the 4-octet handshake, then
 * 4-octet headers + payload. Frames are parsed by hand, so a test sees exactly what the router
 * put on the wire, PINGs included (which this client does not answer unless `autoPong`).
 */

export const FrameType = { wamp: 0, ping: 1, pong: 2 } as const;

export interface RawFrame {
  type: number;
  payload: Buffer;
}

export interface RawSocketOptions {
  host?: string;
  /** RawSocket serializer id (1 json, 2 msgpack, 3 cbor); default from `serializer`. */
  serializerId?: number;
  serializer?: SerializerName;
  /** LLLL: the client accepts 2^(9+L) octets; default 15. */
  lengthExponent?: number;
  /** The full handshake octets, overriding the above. */
  handshake?: Buffer;
  /** Answer PINGs with PONGs (default true). */
  autoPong?: boolean;
  /** TLS with this CA (self-signed certificate). */
  tls?: { ca: string | Buffer; servername?: string };
}

export function handshakeBytes(serializerId: number, lengthExponent = 15): Buffer {
  return Buffer.from([0x7f, (lengthExponent << 4) | serializerId, 0, 0]);
}

export function frame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.from([type, (body.length >>> 16) & 0xff, (body.length >>> 8) & 0xff, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

export class RawSocketClient {
  /** The router's 4 handshake octets (undefined if it sent none). */
  reply: Buffer | undefined;
  readonly frames: RawFrame[] = [];
  closedFlag = false;
  readonly closed: Promise<void>;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  serializer: Serializer;

  private constructor(readonly socket: Socket, serializer: Serializer, private readonly autoPong: boolean) {
    this.serializer = serializer;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => { /* surfaced through close */ });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.closedFlag = true;
      this.wake();
      resolve();
    }));
  }

  /** Open a connection and send the handshake; resolves once connected (not waiting for the reply). */
  static async open(port: number, options: RawSocketOptions = {}): Promise<RawSocketClient> {
    const host = options.host ?? '127.0.0.1';
    const serializer = SERIALIZERS[options.serializer ?? 'json'];
    const socket = options.tls
      ? tlsConnect({ port, host, ca: options.tls.ca, servername: options.tls.servername ?? 'localhost' })
      : tcpConnect({ port, host });
    const client = new RawSocketClient(socket, serializer, options.autoPong ?? true);
    await withTimeout(new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    }), 3000, 'rawsocket connect');
    socket.setNoDelay(true);
    const hello = options.handshake ?? handshakeBytes(options.serializerId ?? serializer.rawSocketId, options.lengthExponent ?? 15);
    if (hello.length > 0) socket.write(hello);
    return client;
  }

  /** Open, handshake and expect success; resolves with the client. */
  static async connect(port: number, options: RawSocketOptions = {}): Promise<RawSocketClient> {
    const client = await RawSocketClient.open(port, options);
    const reply = await client.handshakeReply();
    if (!reply || (reply[1]! & 0x0f) === 0) {
      client.destroy();
      throw new Error(`handshake refused: ${reply?.toString('hex')}`);
    }
    return client;
  }

  /** Connect and complete an anonymous HELLO → WELCOME. */
  static async joined(port: number, options: RawSocketOptions = {}, realm = 'realm1'): Promise<{ client: RawSocketClient; welcome: unknown[] }> {
    const client = await RawSocketClient.connect(port, options);
    client.send([1, realm, { roles: DEFAULT_ROLES }]);
    const welcome = await client.next();
    if (welcome[0] !== 2) throw new Error(`expected WELCOME, got ${JSON.stringify(welcome)}`);
    return { client, welcome };
  }

  /** The handshake reply, or undefined if the connection closed without one. */
  async handshakeReply(timeoutMs = 2000): Promise<Buffer | undefined> {
    await this.until(() => this.reply !== undefined || this.closedFlag, timeoutMs, 'handshake reply');
    return this.reply;
  }

  send(message: unknown[]): void {
    const encoded = this.serializer.encode(message);
    this.socket.write(frame(FrameType.wamp, encoded));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next WAMP message (PINGs are skipped and answered if autoPong). */
  async next(timeoutMs = 2000): Promise<unknown[]> {
    const hasWamp = () => this.frames.some((f) => f.type === FrameType.wamp);
    await this.until(() => hasWamp() || this.closedFlag, timeoutMs, 'a message');
    const index = this.frames.findIndex((f) => f.type === FrameType.wamp);
    if (index < 0) throw new Error('connection closed before a message arrived');
    const [f] = this.frames.splice(index, 1);
    return this.serializer.decode(this.serializer.binary ? f!.payload : f!.payload.toString('utf8')) as unknown[];
  }

  /** The next frame of `type` (any WAMP messages before it stay queued). */
  async nextFrame(type: number, timeoutMs = 2000): Promise<RawFrame> {
    await this.until(() => this.frames.some((f) => f.type === type) || this.closedFlag, timeoutMs, `a frame of type ${type}`);
    const index = this.frames.findIndex((f) => f.type === type);
    if (index < 0) throw new Error(`connection closed before a frame of type ${type} arrived`);
    return this.frames.splice(index, 1)[0]!;
  }

  async waitClosed(timeoutMs = 2000): Promise<void> {
    await withTimeout(this.closed, timeoutMs, 'rawsocket close');
  }

  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => {
      const check = () => {
        if (condition()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    }), timeoutMs, what);
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.reply === undefined) {
      if (this.buffer.length < 4) return;
      this.reply = this.buffer.subarray(0, 4);
      this.buffer = this.buffer.subarray(4);
    }
    while (this.buffer.length >= 4) {
      const type = this.buffer[0]! & 0x07;
      const length = (this.buffer[0]! & 0x08) ? 2 ** 24 : this.buffer.readUIntBE(1, 3);
      if (this.buffer.length < 4 + length) break;
      const payload = Buffer.from(this.buffer.subarray(4, 4 + length));
      this.buffer = this.buffer.subarray(4 + length);
      if (type === FrameType.ping && this.autoPong) this.socket.write(frame(FrameType.pong, payload));
      this.frames.push({ type, payload });
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
