import type { Identity } from '../auth/authenticator.js';
import type { Realm } from '../realms/realm.js';
import type { Logger } from './log.js';
import { CloseUri, ErrorUri, WampError } from './protocol/errors.js';
import { MessageType, type Dict } from './protocol/messages.js';
import type { Serializer, SerializerName } from './serializer/serializer.js';
import type { Session } from './session.js';
import type { Transport, TransportInfo, TransportSink } from './transport/transport.js';

/**
 * In-process sessions (`router.session(realm, {authid, authrole})`): backend code in the same
 * process takes part in routing as a session of its own, with no socket and no serialization.
 *
 * It is an ordinary Session on a memory transport whose "serializer" passes message arrays
 * through untouched, so the session state machine, broker, dealer, authorization, meta events,
 * rate limits and counts treat it exactly like a remote session and need no special case.
 * Both directions are delivered on a microtask, like a socket would, so neither side re-enters
 * the other. Payloads are passed by reference: do not mutate what you sent or received.
 */

/** Message arrays pass through unencoded; frames are the arrays themselves. */
const PASS_THROUGH: Serializer = {
  name: 'inprocess' as SerializerName,
  subprotocol: 'wamp.2.inprocess',
  rawSocketId: 0,
  binary: false,
  encode: (message) => message as unknown as string,
  decode: (frame) => frame,
};

const ROLES: Dict = {
  caller: { features: {} },
  callee: { features: {} },
  publisher: { features: {} },
  subscriber: { features: {} },
};

export interface InProcessIdentity {
  authid: string;
  authrole: string;
  authextra?: Dict;
}

/** What a call returns, and what a callee may return to set both args and kwargs. */
export class Result {
  constructor(readonly args: unknown[] = [], readonly kwargs: Dict = {}) {}
}

export type CallOutcome = { args: unknown[]; kwargs: Dict };
/** Return a value (sent as `args: [value]`), nothing, or a `Result`; throw a WampError for a WAMP error. */
export type ProcedureHandler = (args: unknown[], kwargs: Dict, details: Dict) => unknown;
export type EventHandler = (args: unknown[], kwargs: Dict, details: Dict) => void | Promise<void>;

export interface InProcessSession {
  /** The WAMP session ID (as in WELCOME, visible to the meta API). */
  readonly id: number;
  readonly realm: string;
  readonly authid: string;
  readonly authrole: string;
  /** Rejects with a WampError (`.uri`, `.args`, `.kwargs`) for a WAMP error. */
  call(procedure: string, args?: unknown[], kwargs?: Dict, options?: Dict): Promise<CallOutcome>;
  register(procedure: string, handler: ProcedureHandler, options?: Dict): Promise<{ id: number; unregister(): Promise<void> }>;
  /** Acknowledged unless `options.acknowledge === false`, so a refused publish rejects. */
  publish(topic: string, args?: unknown[], kwargs?: Dict, options?: Dict): Promise<void>;
  subscribe(topic: string, handler: EventHandler, options?: Dict): Promise<{ id: number; unsubscribe(): Promise<void> }>;
  /** GOODBYE; resolves once the router has answered (or the session is already gone). */
  close(): Promise<void>;
  /** Resolves when the session ends, whoever ended it, with the reason. */
  readonly closed: Promise<string>;
}

/** What the router lends to open one. */
export interface InProcessHost {
  readonly logger: Logger;
  accept(transport: Transport): Session;
  findRealm(name: string): Realm | undefined;
}

export function openInProcessSession(host: InProcessHost, realmName: string, identity: InProcessIdentity): Promise<InProcessSession> {
  if (typeof identity?.authid !== 'string' || typeof identity.authrole !== 'string') {
    return Promise.reject(new TypeError('router.session needs {authid, authrole} strings'));
  }
  const client = new Client(realmName, identity, host.logger);
  const transport = new InProcessTransport(client);
  client.transport = transport;
  const session = host.accept(transport);
  transport.sink = session;
  const realm = host.findRealm(realmName);
  if (!realm) session.abort(ErrorUri.noSuchRealm, 'no such realm');
  else {
    const full: Identity = {
      authid: identity.authid, authrole: identity.authrole, authmethod: 'inprocess', authprovider: 'application',
      authextra: identity.authextra ?? {},
    };
    session.joinInProcess(realm, full, ROLES);
  }
  return client.welcomed;
}

class InProcessTransport implements Transport {
  readonly info: TransportInfo = { type: 'memory', peer: 'in-process', remoteAddress: 'in-process', protocol: PASS_THROUGH.subprotocol };
  readonly serializer = PASS_THROUGH;
  sink: TransportSink | undefined;
  private closed = false;

  constructor(private readonly client: Client) {}

  /** Router → client. */
  send(frame: Buffer | string): void {
    if (this.closed) return;
    const message = frame as unknown as unknown[];
    queueMicrotask(() => this.client.receive(message));
  }

  /** Client → router. */
  toRouter(message: unknown[]): boolean {
    if (this.closed) return false;
    queueMicrotask(() => this.sink?.receive(message as unknown as string, false));
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // After whatever was sent before the close (ABORT, GOODBYE), like a socket.
    queueMicrotask(() => {
      this.sink?.transportClosed(code, reason);
      this.client.ended(reason || 'closed');
    });
  }

  bufferedBytes(): number {
    return 0;
  }
}

interface Pending {
  resolve(value: unknown[]): void;
  reject(error: Error): void;
}

class Client implements InProcessSession {
  transport!: InProcessTransport;
  id = 0;
  readonly welcomed: Promise<InProcessSession>;
  readonly closed: Promise<string>;
  private settleWelcome!: { resolve(s: InProcessSession): void; reject(e: Error): void };
  private resolveClosed!: (reason: string) => void;
  private nextRequest = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly procedures = new Map<number, ProcedureHandler>();
  private readonly subscriptions = new Map<number, Set<EventHandler>>();
  private joined = false;
  private over = false;
  /** We sent GOODBYE: the router's answer ends the session and its transport. */
  private leaving = false;

  constructor(readonly realm: string, private readonly identity: InProcessIdentity, private readonly logger: Logger) {
    this.welcomed = new Promise((resolve, reject) => { this.settleWelcome = { resolve, reject }; });
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  get authid(): string {
    return this.identity.authid;
  }

  get authrole(): string {
    return this.identity.authrole;
  }

  // ----- API -----

  async call(procedure: string, args?: unknown[], kwargs?: Dict, options: Dict = {}): Promise<CallOutcome> {
    const answer = await this.request((id) => withPayload([MessageType.CALL, id, options, procedure], args, kwargs));
    return { args: (answer[3] as unknown[] | undefined) ?? [], kwargs: (answer[4] as Dict | undefined) ?? {} };
  }

  async register(procedure: string, handler: ProcedureHandler, options: Dict = {}): Promise<{ id: number; unregister(): Promise<void> }> {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const answer = await this.request((id) => [MessageType.REGISTER, id, options, procedure]);
    const registration = answer[2] as number;
    this.procedures.set(registration, handler);
    return {
      id: registration,
      unregister: async () => {
        if (!this.procedures.delete(registration)) return;
        await this.request((id) => [MessageType.UNREGISTER, id, registration]);
      },
    };
  }

  async publish(topic: string, args?: unknown[], kwargs?: Dict, options: Dict = {}): Promise<void> {
    if (options.acknowledge === false) {
      this.sendOrThrow(withPayload([MessageType.PUBLISH, this.nextRequest++, options, topic], args, kwargs));
      return;
    }
    await this.request((id) => withPayload([MessageType.PUBLISH, id, { ...options, acknowledge: true }, topic], args, kwargs));
  }

  async subscribe(topic: string, handler: EventHandler, options: Dict = {}): Promise<{ id: number; unsubscribe(): Promise<void> }> {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const answer = await this.request((id) => [MessageType.SUBSCRIBE, id, options, topic]);
    const subscription = answer[2] as number;
    let handlers = this.subscriptions.get(subscription);
    if (!handlers) this.subscriptions.set(subscription, (handlers = new Set()));
    // The same function subscribed twice still gets its own handle.
    const entry: EventHandler = (a, k, d) => handler(a, k, d);
    handlers.add(entry);
    return {
      id: subscription,
      unsubscribe: async () => {
        const set = this.subscriptions.get(subscription);
        if (!set?.delete(entry)) return;
        if (set.size > 0) return;
        this.subscriptions.delete(subscription);
        await this.request((id) => [MessageType.UNSUBSCRIBE, id, subscription]);
      },
    };
  }

  close(): Promise<void> {
    if (!this.over && this.joined) {
      this.leaving = true;
      this.transport.toRouter([MessageType.GOODBYE, {}, CloseUri.closeRealm]);
    } else if (!this.over) this.transport.close(1000, 'closed');
    return this.closed.then(() => undefined);
  }

  // ----- router → client -----

  receive(message: unknown[]): void {
    const type = message[0] as number;
    switch (type) {
      case MessageType.WELCOME:
        this.id = message[1] as number;
        this.joined = true;
        this.settleWelcome.resolve(this);
        return;
      case MessageType.ABORT: {
        const details = (message[1] as Dict | undefined) ?? {};
        this.settleWelcome.reject(new WampError(message[2] as string, String(details.message ?? message[2]), [], details));
        return;
      }
      case MessageType.GOODBYE:
        // Router-initiated (shutdown, revocation): answer, and the router closes the transport.
        this.joined = false;
        if (this.leaving) this.transport.close(1000, 'goodbye');
        else this.transport.toRouter([MessageType.GOODBYE, {}, CloseUri.goodbyeAndOut]);
        return;
      case MessageType.ERROR: {
        const request = message[2] as number;
        const error = message[4] as string;
        const args = (message[5] as unknown[] | undefined) ?? [];
        this.settle(request, undefined, new WampError(error, typeof args[0] === 'string' ? args[0] : error, args, (message[6] as Dict | undefined) ?? {}));
        return;
      }
      case MessageType.RESULT:
        if ((message[2] as Dict | undefined)?.progress === true) return;
        this.settle(message[1] as number, message);
        return;
      case MessageType.PUBLISHED:
      case MessageType.SUBSCRIBED:
      case MessageType.REGISTERED:
        this.settle(message[1] as number, message);
        return;
      case MessageType.UNSUBSCRIBED:
      case MessageType.UNREGISTERED: {
        const request = message[1] as number;
        if (request !== 0) return this.settle(request, message);
        // Revocation by the router (config reload took the permission away).
        const details = (message[2] as Dict | undefined) ?? {};
        if (type === MessageType.UNSUBSCRIBED) this.subscriptions.delete(details.subscription as number);
        else this.procedures.delete(details.registration as number);
        return;
      }
      case MessageType.EVENT:
        return this.event(message);
      case MessageType.INVOCATION:
        return this.invocation(message);
      default:
        return; // INTERRUPT: a running handler cannot be stopped; its late answer is dropped by the dealer.
    }
  }

  /** The transport closed: nothing more will be answered. */
  ended(reason: string): void {
    if (this.over) return;
    this.over = true;
    this.joined = false;
    const error = new WampError(ErrorUri.canceled, `session closed: ${reason}`);
    this.settleWelcome.reject(error);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.procedures.clear();
    this.subscriptions.clear();
    this.resolveClosed(reason);
  }

  private event(message: unknown[]): void {
    const handlers = this.subscriptions.get(message[1] as number);
    if (!handlers) return;
    const details: Dict = { ...(message[3] as Dict), subscription: message[1], publication: message[2] };
    const args = (message[4] as unknown[] | undefined) ?? [];
    const kwargs = (message[5] as Dict | undefined) ?? {};
    for (const handler of handlers) {
      try {
        const outcome = handler(args, kwargs, details);
        if (outcome instanceof Promise) outcome.catch((error) => this.handlerFailed('event', error));
      } catch (error) {
        this.handlerFailed('event', error);
      }
    }
  }

  private invocation(message: unknown[]): void {
    const request = message[1] as number;
    const handler = this.procedures.get(message[2] as number);
    const details: Dict = { ...(message[3] as Dict), registration: message[2] };
    const args = (message[4] as unknown[] | undefined) ?? [];
    const kwargs = (message[5] as Dict | undefined) ?? {};
    const answer = (reply: unknown[]) => { if (this.joined) this.transport.toRouter(reply); };
    if (!handler) return answer([MessageType.ERROR, MessageType.INVOCATION, request, {}, ErrorUri.noSuchRegistration]);
    Promise.resolve().then(() => handler(args, kwargs, details)).then(
      (value) => {
        if (value instanceof Result) answer(withPayload([MessageType.YIELD, request, {}], value.args, value.kwargs));
        else answer(withPayload([MessageType.YIELD, request, {}], value === undefined ? undefined : [value], undefined));
      },
      (error: unknown) => {
        const uri = (error as { uri?: unknown })?.uri;
        if (typeof uri === 'string') {
          const e = error as WampError;
          answer(withPayload([MessageType.ERROR, MessageType.INVOCATION, request, {}, uri], e.args ?? [e.message], e.kwargs));
        } else {
          this.handlerFailed('procedure', error);
          answer(withPayload([MessageType.ERROR, MessageType.INVOCATION, request, {}, 'wamp.error.runtime_error'], [String((error as Error)?.message ?? error)], undefined));
        }
      },
    );
  }

  private handlerFailed(kind: string, error: unknown): void {
    this.logger.limited('inprocess.handler_error', { session: this.id, kind, error: String((error as Error)?.message ?? error) });
  }

  private request(build: (id: number) => unknown[]): Promise<unknown[]> {
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      if (!this.joined) return reject(new WampError('wamp.error.canceled', 'session is not open'));
      this.pending.set(id, { resolve, reject });
      this.transport.toRouter(build(id));
    });
  }

  private sendOrThrow(message: unknown[]): void {
    if (!this.joined || !this.transport.toRouter(message)) throw new WampError('wamp.error.canceled', 'session is not open');
  }

  private settle(request: number, message: unknown[] | undefined, error?: Error): void {
    const pending = this.pending.get(request);
    if (!pending) return;
    this.pending.delete(request);
    if (error) pending.reject(error);
    else pending.resolve(message!);
  }
}

/** `[..., args]` or `[..., args, kwargs]`, omitting what is empty (wamp-spec §6). */
function withPayload(head: unknown[], args: unknown[] | undefined, kwargs: Dict | undefined): unknown[] {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (hasKwargs) head.push(args ?? [], kwargs);
  else if (args !== undefined && args.length > 0) head.push(args);
  return head;
}
