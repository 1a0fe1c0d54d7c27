import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_AUTHMETHOD, NonceStore, verifySignature } from '../../auth/http-signature.js';
import type { Realm } from '../../realms/realm.js';
import type { ListenerConfig } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../log.js';
import type { RoutedPeer } from '../peer.js';
import { isDict } from '../protocol/decode.js';
import { ErrorUri } from '../protocol/errors.js';
import { randomId, SequentialIds } from '../protocol/ids.js';
import { MessageType, type Call, type Dict, type RouterMessage } from '../protocol/messages.js';
import { TokenBucket } from '../rate-limit.js';
import { clientAddress } from './listener.js';
import type { OriginPolicy } from './origin.js';

/**
 * The HTTP bridge (issue 9): deploy scripts and backends without a WAMP client publish or call
 * with one signed HTTP request.
 *
 *   GET  /auth/challenge?key=KEYID  → {"nonce", "expires"}
 *   POST /publish  {realm, topic, args, kwargs, options}     → {"publication"}
 *   POST /call     {realm, procedure, args, kwargs, options} → {"args", "kwargs"} or {"error", …}
 *
 * POSTs carry X-Switchyard-Key, X-Switchyard-Nonce and X-Switchyard-Signature (auth/http-signature.ts).
 * Anything wrong with those is 401 with an empty body. The caller then acts as an `HttpCaller`
 * (authid = key id, authrole = the key's role, authmethod `http-hmac`) through the realm's own
 * broker and dealer, so permissions and disclosure apply exactly as for a WAMP session.
 * No CORS headers are ever sent; a foreign browser Origin is refused with 403 as on WebSocket.
 */

export interface HttpBridgeHost {
  /** The router's live realms (a reload adds, changes and removes them in place). */
  readonly realms: ReadonlyMap<string, Realm>;
  /** May a request from this address be served now (router not closing, per-address caps)? */
  admit(remoteAddress: string): boolean;
}

/** Answer of a publish or call: HTTP status and JSON body. */
interface Reply {
  status: number;
  body: Dict;
}

/** WAMP error URI → HTTP status for `/call` and `/publish` refusals. */
export function statusForError(uri: string): number {
  switch (uri) {
    case ErrorUri.notAuthorized:
    case ErrorUri.authorizationFailed:
      return 403;
    case ErrorUri.noSuchProcedure:
      return 404;
    case ErrorUri.timeout:
      return 504;
    case ErrorUri.invalidArgument:
    case ErrorUri.invalidUri:
    case ErrorUri.optionNotAllowed:
      return 400;
    default:
      return 502;
  }
}

/**
 * The HTTP caller as a party to a call: the dealer routes its CALL like any session's and
 * answers through `send`/`sendError`, which settle the HTTP response exactly once.
 */
export class HttpCaller implements RoutedPeer {
  readonly id = randomId();
  readonly authmethod = HTTP_AUTHMETHOD;
  readonly authprovider = 'static';
  readonly invocationIds = new SequentialIds();
  private active = true;

  constructor(readonly authid: string, readonly authrole: string, private readonly settle: (reply: Reply) => void) {}

  send(message: RouterMessage): void {
    if (message.type === MessageType.RESULT && message.details.progress !== true) {
      this.reply({ status: 200, body: { args: message.args ?? [], kwargs: message.kwargs ?? {} } });
    } else if (message.type === MessageType.ERROR) {
      this.fail(message.error, message.args, message.kwargs);
    }
  }

  sendError(_requestType: number, _request: number, error: string, message?: string, args?: unknown[], kwargs?: Dict): void {
    this.fail(error, args ?? (message !== undefined ? [message] : []), kwargs);
  }

  fail(error: string, args?: unknown[], kwargs?: Dict): void {
    this.reply({ status: statusForError(error), body: { error, args: args ?? [], kwargs: kwargs ?? {} } });
  }

  hasFeature(): boolean {
    return false;
  }

  violation(message: string): void {
    this.fail(ErrorUri.invalidArgument, [message]);
  }

  isActive(): boolean {
    return this.active;
  }

  /** The request is over (answered, timed out, or the client went away). */
  end(): void {
    this.active = false;
  }

  /** Settle the HTTP answer; only the first answer counts. */
  reply(reply: Reply): void {
    if (!this.active) return;
    this.active = false;
    this.settle(reply);
  }
}

const ROUTES: Record<string, string> = { '/auth/challenge': 'GET', '/publish': 'POST', '/call': 'POST' };
const KEY_ID = /^[\x21-\x7e]{1,255}$/;
const NONCE = /^[0-9a-f]{64}$/;
const SIGNATURE = /^[0-9a-fA-F]{128}$/;
/** The most distinct key ids with a live rate bucket; the oldest bucket is forgotten first. */
const MAX_BUCKETS = 10_000;

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** The bridge's routes, for a listener that serves other things on the same port. */
export function isBridgePath(pathname: string): boolean {
  return Object.hasOwn(ROUTES, pathname);
}

/**
 * The bridge's request handling, wherever requests come from: an `http` listener, a `universal`
 * one (beside WebSocket and RawSocket), or an application server via `router.attach()`.
 */
export class HttpBridge {
  private readonly nonces: NonceStore;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly inFlight = new Set<HttpCaller>();

  constructor(
    private readonly config: Pick<ListenerConfig, 'trustProxy'>,
    private readonly limits: Limits,
    private readonly logger: Logger,
    private readonly host: HttpBridgeHost,
    /** Shared with WebSocket on the same port; a reload updates it in place. */
    private readonly origins: OriginPolicy,
    /** Where the routes are mounted (`""`, or an application's prefix such as `/wamp`). */
    private readonly prefix = '',
  ) {
    this.nonces = new NonceStore({ nonceTtlMs: limits.httpNonceTtlMs, maxNonces: limits.httpMaxNonces });
  }

  /** The route `req` asks for (without the prefix), or undefined when it is not the bridge's. */
  route(req: IncomingMessage): string | undefined {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!pathname.startsWith(this.prefix)) return undefined;
    const route = pathname.slice(this.prefix.length);
    return isBridgePath(route) ? route : undefined;
  }

  /** Answer one request (a bridge route; anything else is 404). */
  serve(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return respond(res, error.status);
      this.logger.error('http.failed', { error: error instanceof Error ? error.message : String(error) });
      respond(res, 500);
    });
  }

  terminateAll(): void {
    for (const caller of this.inFlight) caller.fail(ErrorUri.canceled, ['router is shutting down']);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = this.route(req);
    if (route === undefined) return respond(res, 404);
    const url = new URL(route + new URL(req.url ?? '/', 'http://localhost').search, 'http://localhost');
    const method = ROUTES[route]!;
    if (!this.origins.check(req, this.logger)) return respond(res, 403);
    if (req.method !== method) return respond(res, 405, undefined, { allow: method });
    if (!this.host.admit(clientAddress(req, this.config.trustProxy))) return respond(res, 503);
    if (route === '/auth/challenge') return this.challenge(url, res);

    const keyId = header(req, 'x-switchyard-key');
    const nonce = header(req, 'x-switchyard-nonce');
    const signature = header(req, 'x-switchyard-signature');
    // A presented nonce is burnt now, whatever happens next (single use, even for a bad request).
    const fresh = nonce !== undefined && keyId !== undefined && this.nonces.consume(nonce, keyId);
    if (keyId === undefined || nonce === undefined || signature === undefined) return respond(res, 401);
    if (!KEY_ID.test(keyId) || !NONCE.test(nonce) || !SIGNATURE.test(signature)) return respond(res, 401);

    const body = await readBody(req, this.limits.httpMaxBodyBytes, this.limits.httpRequestTimeoutMs);
    const request = parseJson(body);
    const realm = typeof request?.realm === 'string' ? this.host.realms.get(request.realm) : undefined;
    const key = realm?.httpKey(keyId);
    // Always verify (with a throwaway secret for an unknown key), so timing says nothing.
    const verified = verifySignature(key?.secret, req.method!, url.pathname, nonce, body, signature);
    if (!fresh || !verified || !key || !realm || !request) {
      this.logger.limited('http.refused', { keyId, peer: clientAddress(req, this.config.trustProxy) });
      return respond(res, 401);
    }
    const wait = this.bucket(`${realm.name}\u0000${keyId}`).take(1);
    if (wait > 0) return respond(res, 429, undefined, { 'retry-after': String(Math.ceil(wait / 1000)) });

    const reply = await this.dispatch(url.pathname, realm, keyId, key.role, request, res);
    respond(res, reply.status, reply.body);
  }

  /** A nonce for any well-formed key id; for a key no realm knows, one that is never stored. */
  private challenge(url: URL, res: ServerResponse): void {
    const keyId = url.searchParams.get('key');
    if (keyId === null || !KEY_ID.test(keyId)) return respond(res, 400);
    let known = false;
    for (const realm of this.host.realms.values()) if (realm.httpKey(keyId)) known = true;
    const { nonce, expires } = this.nonces.issue(keyId, known);
    respond(res, 200, { nonce, expires: new Date(expires).toISOString() });
  }

  /** Run a verified publish or call as the key's principal; settles within httpRequestTimeoutMs. */
  private dispatch(path: string, realm: Realm, keyId: string, role: string, request: Dict, res: ServerResponse): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      const caller: HttpCaller = new HttpCaller(keyId, role, (reply) => {
        clearTimeout(timer);
        this.inFlight.delete(caller);
        // Forget the caller's dealer state; a call still in flight is interrupted at the callee.
        realm.dealer.detach(caller);
        resolve(reply);
      });
      this.inFlight.add(caller);
      const timer = setTimeout(() => caller.fail(ErrorUri.timeout, ['request timed out']), this.limits.httpRequestTimeoutMs);
      res.once('close', () => {
        if (caller.isActive()) caller.fail(ErrorUri.canceled, ['client went away']);
      });
      const args = request.args ?? [];
      const kwargs = request.kwargs ?? {};
      const options = request.options ?? {};
      if (!Array.isArray(args) || !isDict(kwargs) || !isDict(options)) {
        return caller.fail(ErrorUri.invalidArgument, ['args must be a list, kwargs and options objects']);
      }
      if (path === '/publish') {
        if (typeof request.topic !== 'string') return caller.fail(ErrorUri.invalidArgument, ['topic must be a string']);
        Promise.resolve(realm.broker.publishAs(caller, request.topic, args, kwargs, options)).then((outcome) => {
          if ('error' in outcome) caller.fail(outcome.error, [outcome.message]);
          else caller.reply({ status: 200, body: { publication: outcome.publication } });
        }, () => caller.fail('wamp.error.runtime_error', ['internal error']));
        return;
      }
      if (typeof request.procedure !== 'string') return caller.fail(ErrorUri.invalidArgument, ['procedure must be a string']);
      const requested = options.timeout ?? 0;
      if (!Number.isSafeInteger(requested) || (requested as number) < 0) return caller.fail(ErrorUri.invalidArgument, ['timeout must be a non-negative integer (ms)']);
      // Only the options that make sense for one request: a bounded timeout and disclose_me.
      const callOptions: Dict = {
        timeout: (requested as number) > 0 ? Math.min(requested as number, this.limits.httpRequestTimeoutMs) : this.limits.httpRequestTimeoutMs,
      };
      if (options.disclose_me === true) callOptions.disclose_me = true;
      const call: Call = { type: MessageType.CALL, request: caller.invocationIds.next(), options: callOptions, procedure: request.procedure, args, kwargs };
      Promise.resolve(realm.dealer.call(caller, call)).catch(() => caller.fail('wamp.error.runtime_error', ['internal error']));
    });
  }

  private bucket(id: string): TokenBucket {
    let bucket = this.buckets.get(id);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
      const rate = this.limits.httpRateRequestsPerSecond;
      bucket = new TokenBucket(rate, rate);
      this.buckets.set(id, bucket);
    }
    return bucket;
  }

}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The body, or HttpError 413 as soon as it is known to exceed `max` bytes, or 408 (and the
 * connection closed) when it has not arrived within `timeoutMs` (a trickled body).
 */
function readBody(req: IncomingMessage, max: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new HttpError(413));
  let timer: NodeJS.Timeout | undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    timer = setTimeout(() => {
      req.removeAllListeners('data');
      reject(new HttpError(408));
    }, timeoutMs);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.pause();
        reject(new HttpError(413));
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new HttpError(400)));
  }).finally(() => clearTimeout(timer));
}

function parseJson(body: Buffer): Dict | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isDict(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** JSON (or empty) answer; never CORS headers; refusals carry no detail. */
function respond(res: ServerResponse, status: number, body?: Dict, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(status === 413 || status === 408 ? { connection: 'close' } : {}),
  });
  res.end(text);
}
