import WebSocket from 'ws';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { Serializer, SerializerName } from '../../router/serializer/serializer.js';
import { withTimeout } from './wait.js';

/**
 * A WebSocket client that sends exact WAMP arrays (or raw bytes) and reads exact replies, for
 * tests that must see the wire: malformed frames, protocol violations, close codes.
 */
export class RawClient {
  readonly received: unknown[][] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket, readonly serializer: Serializer) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.received.push(serializer.decode(isBinary ? data : data.toString('utf8')) as unknown[]);
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.wake();
      resolve();
    }));
    ws.on('error', () => { /* surfaced through close */ });
  }

  static async connect(url: string, serializer: SerializerName = 'json', options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options.protocols ?? [SERIALIZERS[serializer].subprotocol], options);
    await withTimeout(new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    }), 3000, 'websocket open');
    return new RawClient(ws, SERIALIZERS[serializer]);
  }

  /** Connect and complete an anonymous HELLO → WELCOME; resolves with the WELCOME message. */
  static async joined(url: string, serializer: SerializerName = 'json', realm = 'realm1', roles: Record<string, unknown> = DEFAULT_ROLES): Promise<{ client: RawClient; welcome: unknown[] }> {
    const client = await RawClient.connect(url, serializer);
    client.send([1, realm, { roles }]);
    const welcome = await client.next();
    if (welcome[0] !== 2) throw new Error(`expected WELCOME, got ${JSON.stringify(welcome)}`);
    return { client, welcome };
  }

  send(message: unknown[]): void {
    this.ws.send(this.serializer.encode(message), { binary: this.serializer.binary });
  }

  sendRaw(data: Buffer | string, binary = typeof data !== 'string'): void {
    this.ws.send(data, { binary });
  }

  /** The next message not yet taken, waiting up to `timeoutMs`. */
  async next(timeoutMs = 2000): Promise<unknown[]> {
    await this.until(() => this.received.length > 0 || this.closeCode !== undefined, timeoutMs, 'a message');
    const message = this.received.shift();
    if (!message) throw new Error(`connection closed (${this.closeCode}) before a message arrived`);
    return message;
  }

  /** Wait for the socket to close; resolves with the close code. */
  async waitClosed(timeoutMs = 2000): Promise<number> {
    await withTimeout(this.closed, timeoutMs, 'close');
    return this.closeCode!;
  }

  /** Resolve once `condition` holds (re-checked on every message or close). */
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
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

export const DEFAULT_ROLES = { publisher: {}, subscriber: {}, caller: {}, callee: {} };
