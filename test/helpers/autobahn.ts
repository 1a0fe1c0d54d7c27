import './quiet-autobahn.js';
import autobahn from 'autobahn';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { withTimeout } from './wait.js';

// autobahn-js ships no types; tests only touch a small surface, described here.
export interface AbSession {
  id: number;
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<any>;
  register(procedure: string, endpoint: (...a: any[]) => unknown, options?: Record<string, unknown>): Promise<any>;
  unregister(registration: any): Promise<any>;
  subscribe(topic: string, handler: (...a: any[]) => void, options?: Record<string, unknown>): Promise<any>;
  unsubscribe(subscription: any): Promise<any>;
  publish(topic: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<any> | undefined;
  leave(reason?: string, message?: string): void;
  isOpen: boolean;
}

export interface AbClient {
  connection: any;
  session: AbSession;
  details: Record<string, any>;
  /** Resolves with (reason, details) when the connection closes. */
  closed: Promise<{ reason: string; details: Record<string, any> }>;
  close(): Promise<void>;
}

export const SERIALIZER_NAMES: SerializerName[] = ['json', 'msgpack', 'cbor'];

function serializerFor(name: SerializerName): unknown {
  const s = (autobahn as any).serializer;
  if (name === 'json') return new s.JSONSerializer();
  if (name === 'msgpack') return new s.MsgpackSerializer();
  return new s.CBORSerializer();
}

/**
 * Open an autobahn-js connection (no retries) and resolve once joined. Rejects with the close
 * reason (e.g. `wamp.error.no_such_realm`) if the router refuses the session.
 */
export function connectAutobahn(url: string, serializer: SerializerName = 'json', options: Record<string, unknown> = {}): Promise<AbClient> {
  let resolveClosed: (value: { reason: string; details: Record<string, any> }) => void;
  const closed = new Promise<{ reason: string; details: Record<string, any> }>((resolve) => { resolveClosed = resolve; });
  const joined = new Promise<AbClient>((resolve, reject) => {
    const connection = new (autobahn as any).Connection({
      url, realm: 'realm1', serializers: [serializerFor(serializer)], max_retries: 0, retry_if_unreachable: false, ...options,
    });
    connection.onopen = (session: AbSession, details: Record<string, any>) => {
      resolve({
        connection, session, details, closed,
        async close() {
          if (connection.isOpen) {
            connection.close();
            await withTimeout(closed, 3000, 'autobahn close');
          }
        },
      });
    };
    connection.onclose = (reason: string, details: Record<string, any>) => {
      resolveClosed({ reason: details?.reason ?? reason, details });
      reject(new Error(details?.reason ?? reason));
      return true; // never reconnect
    };
    connection.open();
  });
  return withTimeout(joined, 5000, 'autobahn join');
}

/** The clients a test opens, closed together in its afterEach hook so none outlives the test. */
export class OpenClients {
  private readonly open: AbClient[] = [];

  async connect(url: string, serializer: SerializerName = 'json', options: Record<string, unknown> = {}): Promise<AbClient> {
    return this.track(await connectAutobahn(url, serializer, options));
  }

  track(client: AbClient): AbClient {
    this.open.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.open.splice(0).map((client) => client.close()));
  }
}
