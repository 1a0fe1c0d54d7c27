import type { Authenticator, ChallengeStep, Deny, HelloOutcome, Identity } from '../auth/authenticator.js';
import type { CredentialRef } from '../auth/credentials.js';
import { logs, type Logger } from './log.js';
import type { Limits } from './limits.js';
import { decodeClientMessage, isDict } from './protocol/decode.js';
import { encodeFailureText } from './serializer/serializer.js';
import { exceeds, type FrameShape, type ShapeBounds } from './serializer/shape.js';
import { payloadEncodedAsSent } from './protocol/encode.js';
import { encodeFor } from './serializer/message-frame.js';
import { CloseUri, ErrorUri, ProtocolViolation } from './protocol/errors.js';
import { CLIENT_ROLES, routerRoles } from './protocol/features.js';
import { SequentialIds } from './protocol/ids.js';
import type { MaybePromise } from './maybe-async.js';
import {
  MESSAGE_NAMES, MessageType, type Abort, type Authenticate, type Call, type Cancel, type ClientMessage, type Dict,
  type ErrorMessage, type Goodbye, type Hello, type Publish, type Register, type RouterMessage, type Subscribe,
  type Unregister, type Unsubscribe, type Yield,
} from './protocol/messages.js';
import { isValidUri } from './protocol/uri.js';
import { NO_METRICS, type SessionMetrics } from './ops/metrics.js';
import { InboundRate, type RateSettings } from './rate-limit.js';
import { clientFeatures, hasClientFeature, NO_FEATURES, type ClientFeatures } from './protocol/client-features.js';
import { CloseCode, frameLength, type Transport, type TransportInfo, type TransportSink } from './transport/transport.js';
import { timeoutList, type Expiring, type TimeoutList } from './timeouts.js';
import type { ConnectionSlot } from './transport/connection-ledger.js';

/**
 * One WAMP session on one transport, as an explicit state machine (wamp-spec §2.1, style §1.8
 * lesson 2). Each state has its own handler table; a message without a handler in the current
 * state is a protocol violation. Nothing reaches the broker or dealer before WELCOME, because only
 * the `established` table routes.
 */

export type SessionState = 'awaitingHello' | 'authenticating' | 'established' | 'closing' | 'closed';

/** What the session needs from the router that owns it. */
export interface SessionHost {
  readonly limits: Limits;
  readonly logger: Logger;
  findRealm(name: string): SessionRealm | undefined;
  /** A fresh random session ID, unique among live sessions. */
  allocateSessionId(): number;
  releaseSessionId(id: number): void;
  sessionJoined(session: Session): void;
  /** The session is over; `reason` is counted (slow consumer, hello timeout, …). */
  sessionClosed(session: Session, reason: string): void;
  /** Message, byte and login counters (router/ops/metrics.ts); absent = not counted. */
  readonly metrics?: SessionMetrics;
}

/**
 * What a session needs of the realm it joins (realms/realm.ts implements it). Declared here, below
 * the realm, so that the session layer never imports the realms above it (style.md §1.10).
 */
export interface SessionRealm {
  readonly name: string;
  readonly broker: SessionBroker;
  readonly dealer: SessionDealer;
  /** The first of the client's methods, in the client's order, that the realm offers. */
  selectAuthenticator(methods: readonly string[]): Authenticator | undefined;
  hasRole(name: string): boolean;
  /** Whether a session (joined or about to be) still holds a valid credential. */
  credentialValid(session: Pick<Session, 'credential' | 'authmethod'>): boolean;
  /** The role's own inbound rate, where the realm's config sets one. */
  rateFor(authrole: string): RateSettings | undefined;
  join(session: Session): void;
  leave(session: Session): void;
}

/** The messages an established session routes to its realm's broker (router/broker.ts). */
export interface SessionBroker {
  publish(session: Session, message: Publish): MaybePromise<void>;
  subscribe(session: Session, message: Subscribe): MaybePromise<void>;
  unsubscribe(session: Session, message: Unsubscribe): void;
}

/** The messages an established session routes to its realm's dealer (router/dealer.ts). */
export interface SessionDealer {
  call(session: Session, message: Call): MaybePromise<void>;
  cancel(session: Session, message: Cancel): void;
  register(session: Session, message: Register): MaybePromise<void>;
  unregister(session: Session, message: Unregister): void;
  yield(session: Session, message: Yield): void;
  invocationError(session: Session, message: ErrorMessage): void;
}

type Handler = (session: Session, message: never) => void | Promise<void>;
type HandlerTable = Partial<Record<MessageType, Handler>>;

/** Answers to invocations: processed even while an earlier step of the same session is pending. */
const ANSWERS = new Set<MessageType>([MessageType.YIELD, MessageType.ERROR]);

/** Bound on messages queued while an async step (authentication, dynamic authorization) is in progress. */
const MAX_BACKLOG = 64;

export class Session implements TransportSink, Expiring {
  state: SessionState = 'awaitingHello';
  /** 0 until HELLO is accepted; then the ID WELCOME carries. */
  id = 0;
  realm: SessionRealm | undefined;
  authid = '';
  authrole = '';
  authmethod = '';
  authprovider = '';
  authextra: Dict = EMPTY_DICT;
  /** The credential this session authenticated with (absent for anonymous). */
  credential: CredentialRef | undefined;
  /** The counted connection it runs on (transport/connection-ledger.ts); the router sets it, joins and releases it. */
  slot: ConnectionSlot | undefined;
  /** The features HELLO.Details.roles announced (shared between sessions that announced the same). */
  private features: ClientFeatures = NO_FEATURES;
  /** Created when this session first becomes a callee (most sessions never do). */
  private calleeIds: SequentialIds | undefined;

  /** The hello, authentication or close-handshake timeout running, if any (one shared list each: timeouts.ts). */
  private timeout: TimeoutList | undefined;
  /** The first reason this session ended for; what the router counts. */
  private closeReason: string | undefined;
  private pendingChallenge: ChallengeStep | undefined;
  private busy = false;
  private rate: Pick<InboundRate, 'admit'>;
  private overRateSince = 0;
  private lastOverRate = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Messages held while an async step runs; created on first use. */
  private backlog: ClientMessage[] | undefined;
  private readonly metrics: SessionMetrics;
  /** Set once a message could not be encoded for this session (logged once per session). */
  private loggedUndeliverable = false;
  /** The method of the login in progress, for the auth failure counter. */
  private attemptMethod = '';
  /** The authid the login in progress asked for, for the failed-login log line. */
  private attemptAuthid: string | undefined;

  constructor(readonly transport: Transport, private readonly host: SessionHost) {
    this.metrics = host.metrics ?? NO_METRICS;
    this.rate = inboundRate(defaultRate(host.limits));
    this.startTimer(host.limits.helloTimeoutMs, 'hello timeout');
  }

  isActive(): boolean {
    return this.state === 'established';
  }

  get serializer() {
    return this.transport.serializer;
  }

  /** INVOCATION request IDs toward this session as callee: 1, 2, 3, … (wamp-spec §3). */
  get invocationIds(): SequentialIds {
    return (this.calleeIds ??= new SequentialIds());
  }

  /** True if the client announced `feature` for `role` in HELLO (e.g. callee/call_canceling). */
  hasFeature(role: string, feature: string): boolean {
    return hasClientFeature(this.features, role, feature);
  }

  // ----- inbound -----

  receive(frame: Buffer | string, binary: boolean): void {
    if (this.state === 'closed') return;
    const bytes = frameLength(frame);
    const wait = this.rate.admit(bytes);
    if (wait > 0 && !this.throttle(wait)) return;
    const message = this.decode(frame, binary, bytes);
    if (!message) return;
    this.metrics.messageIn(message.type, bytes);
    if (this.busy && !ANSWERS.has(message.type)) {
      const backlog = (this.backlog ??= []);
      if (backlog.length >= MAX_BACKLOG) {
        this.abort(ErrorUri.protocolViolation, 'too many messages before the previous step completed');
        return;
      }
      backlog.push(message);
      return;
    }
    // YIELD and ERROR answer invocations and never wait: the session that is waiting may be the
    // very callee (a dynamic authorizer) whose answer the pending step needs.
    this.dispatch(message);
  }

  private decode(frame: Buffer | string, binary: boolean, bytes: number): ClientMessage | undefined {
    if (this.state !== 'established' && this.state !== 'closing' && bytes > this.host.limits.preAuthMaxMessageBytes) {
      this.abort(ErrorUri.protocolViolation, 'message too large before the session is established', CloseCode.tooBig);
      return;
    }
    try {
      if (binary !== this.serializer.binary) throw new ProtocolViolation(`${binary ? 'binary' : 'text'} frame on ${this.serializer.subprotocol}`);
      let shape: FrameShape | undefined;
      if (this.serializer.scan && !this.tooSmallToExceed(bytes)) {
        const bounds = this.payloadBounds();
        shape = this.serializer.scan(frame, bounds);
        if (exceeds(shape, bounds)) return this.refuseShape(frame, shape);
      }
      // A text format is decoded from one string, which its payload section is then cut from.
      // (In-process frames are message arrays and pass as they are.)
      const input = !binary && Buffer.isBuffer(frame) ? frame.toString('utf8') : frame;
      const message = decodeClientMessage(this.serializer.decode(input, shape));
      if (this.serializer.payloadSection !== undefined) this.keepEncodedPayload(message, input);
      return message;
    } catch (error) {
      this.violation(error instanceof ProtocolViolation ? error.message : 'message could not be deserialized');
      return undefined;
    }
  }

  /** Remember the payload section of a CALL, YIELD or ERROR, for a callee or caller of the same serializer. */
  private keepEncodedPayload(message: ClientMessage, input: Buffer | string): void {
    if (message.type !== MessageType.CALL && message.type !== MessageType.YIELD && message.type !== MessageType.ERROR) return;
    if (!payloadEncodedAsSent(message)) return;
    message.encoded = { format: this.serializer.name, section: this.serializer.payloadSection!(input, PAYLOAD_INDEX[message.type]!) };
  }

  /**
   * A frame this short cannot hold more values or deeper nesting than the caps allow (each value
   * and each level takes bytes: serializer.density), so it is not scanned; most frames are.
   */
  private tooSmallToExceed(bytes: number): boolean {
    const density = this.serializer.density;
    const limits = this.host.limits;
    return density !== undefined && bytes * density.weightPerByte <= limits.maxPayloadElements && bytes * density.depthPerByte <= limits.maxPayloadDepth;
  }

  private payloadBounds(): ShapeBounds {
    const limits = this.host.limits;
    return { maxElements: limits.maxPayloadElements, maxDepth: limits.maxPayloadDepth };
  }

  /**
   * A frame over the element or depth cap is never decoded in full: only its head (type, request
   * ID, options) is, to answer it. CALL gets ERROR `wamp.error.payload_size_exceeded` and reaches
   * no callee; a YIELD or ERROR becomes that ERROR for the waiting caller; an acknowledged PUBLISH
   * gets it too and reaches no subscriber. Any other message over the cap is a protocol violation.
   */
  private refuseShape(frame: Buffer | string, shape: FrameShape): undefined {
    const limits = this.host.limits;
    const what = shape.depth > limits.maxPayloadDepth
      ? `nesting deeper than ${limits.maxPayloadDepth} (limits.maxPayloadDepth)`
      : `more than ${limits.maxPayloadElements} values (limits.maxPayloadElements)`;
    const type = this.decodeHead(frame, shape, 1)[0];
    const payloadAt = typeof type === 'number' ? PAYLOAD_INDEX[type] : undefined;
    if (payloadAt === undefined || this.state !== 'established') {
      this.violation(`message with ${what}`);
      return undefined;
    }
    const head = decodeClientMessage(this.decodeHead(frame, shape, payloadAt));
    const text = `payload refused: ${what}`;
    this.host.logger.limited('session.payload_refused', { session: this.id, type: messageName(head), reason: what });
    this.metrics.messageIn(head.type, frameLength(frame));
    switch (head.type) {
      case MessageType.CALL:
        this.sendError(MessageType.CALL, head.request, ErrorUri.payloadSizeExceeded, text);
        return undefined;
      case MessageType.PUBLISH:
        if (head.options.acknowledge === true) this.sendError(MessageType.PUBLISH, head.request, ErrorUri.payloadSizeExceeded, text);
        return undefined;
      case MessageType.YIELD:
      case MessageType.ERROR:
        this.realm!.dealer.invocationError(this, {
          type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: head.request, details: {},
          error: ErrorUri.payloadSizeExceeded, args: [text],
        });
        return undefined;
    }
    return undefined;
  }

  private decodeHead(frame: Buffer | string, shape: FrameShape, count: number): unknown[] {
    const head = this.serializer.decode(this.serializer.head!(frame, shape, count));
    return Array.isArray(head) ? head : [];
  }

  private dispatch(message: ClientMessage): void {
    const handler = STATE_HANDLERS[this.state][message.type] as ((s: Session, m: ClientMessage) => void | Promise<void>) | undefined;
    if (!handler) {
      if (this.state === 'closing') return; // wamp-spec §2.1: ignore other messages while shutting down
      this.violation(`${messageName(message)} is not allowed in state ${this.state}`);
      return;
    }
    try {
      const result = handler(this, message);
      if (result) this.awaitStep(result);
    } catch (error) {
      this.internalError(error);
    }
  }

  /** Hold further frames until an async step settles, so the session sees its messages in order. */
  private awaitStep(step: Promise<void>): void {
    this.busy = true;
    step.catch((error) => this.internalError(error)).finally(() => {
      this.busy = false;
      while (!this.busy && this.backlog && this.backlog.length > 0 && this.state !== 'closed') this.dispatch(this.backlog.shift()!);
    });
  }

  /**
   * Over its rate: stop reading this socket until the debt is repaid, so TCP pushes back on the
   * sender. A session that stays over its rate for `rateLimitCloseAfterMs` is closed.
   * Returns false when the session was closed.
   */
  private throttle(waitMs: number): boolean {
    const now = Date.now();
    // Over-rate stretches separated by less than a second (or by our own pause) count as one.
    if (this.overRateSince === 0 || now - this.lastOverRate > Math.max(1000, waitMs + 1000)) this.overRateSince = now;
    this.lastOverRate = now;
    if (now - this.overRateSince > this.host.limits.rateLimitCloseAfterMs) {
      this.closeReason ??= 'rate limited';
      this.abort('switchyard.error.rate_limited', 'message rate limit exceeded for too long', CloseCode.policyViolation);
      return false;
    }
    if (!this.resumeTimer && this.transport.pause) {
      this.transport.pause();
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = undefined;
        if (this.state !== 'closed') this.transport.resume?.();
      }, waitMs);
    }
    return true;
  }

  private internalError(error: unknown): void {
    this.host.logger.error('session.internal_error', { session: this.id, error: String((error as Error)?.stack ?? error) });
    this.abort('wamp.error.runtime_error', 'internal error');
  }

  transportClosed(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason || `transport closed (${code})`;
    this.finish(this.closeReason);
  }

  // ----- outbound -----

  /**
   * Encode and queue one message. Returns undefined once sent (or when the session is closed),
   * else why this session's serializer cannot carry the message: nothing was sent, and the caller
   * answers whoever the message came from. Never throws for a payload, so a value that one
   * receiver cannot take never aborts the session that sent it.
   */
  send(message: RouterMessage): string | undefined {
    if (this.state === 'closed') return undefined;
    let frame: Buffer | string;
    try {
      frame = encodeFor(this.serializer, message);
    } catch (error) {
      return this.undeliverable(message.type, encodeFailureText(this.serializer.name, error));
    }
    const bytes = frameLength(frame);
    this.metrics.messageOut(message.type, bytes);
    this.transport.send(frame, bytes);
    return undefined;
  }

  /** Count a message this session could not be sent, and log it (once per session, rate limited). */
  undeliverable(type: MessageType, reason: string): string {
    this.metrics.undeliverable(type);
    if (!this.loggedUndeliverable) {
      this.loggedUndeliverable = true;
      this.host.logger.limited('session.undeliverable', { session: this.id, serializer: this.serializer.name, type: MESSAGE_NAMES[type], reason });
    }
    return reason;
  }

  /** Send an already-encoded frame (fan-out encodes once per serializer). */
  sendFrame(frame: Buffer | string): void {
    if (this.state !== 'established') return;
    const bytes = frameLength(frame);
    this.metrics.messageOut(MessageType.EVENT, bytes);
    this.transport.send(frame, bytes);
  }

  sendError(requestType: number, request: number, error: string, message?: string, args?: unknown[], kwargs?: Dict): void {
    if (this.state !== 'established') return;
    this.send({
      type: MessageType.ERROR, requestType, request, details: message ? { message } : {}, error,
      args: args ?? (message ? [message] : undefined), kwargs,
    });
  }

  // ----- lifecycle -----

  /** ABORT and close: for protocol violations and refused joins. Never answered by the peer. */
  abort(reason: string, message: string, closeCode: number = CloseCode.normal): void {
    if (this.state === 'closed') return;
    this.host.logger.limited('session.abort', { session: this.id || undefined, peer: this.transport.info.peer, reason, message });
    this.sendAbort(reason, message, closeCode);
  }

  /**
   * A refused login: ONE info line with realm, authid, method, peer and the server-side cause
   * (never the secret, signature or challenge), then the same ABORT every refusal gets.
   */
  private refuseLogin(realm: string | undefined, deny: Deny): void {
    if (this.state === 'closed') return;
    this.metrics.authFailed(this.attemptMethod, deny.reason);
    this.host.logger.limited('auth.failed', {
      session: this.id || undefined, realm, authid: this.attemptAuthid, authmethod: this.attemptMethod, peer: this.transport.info.peer,
      cause: deny.cause ?? 'refused', detail: deny.detail, reason: deny.reason,
    }, 'info');
    this.sendAbort(deny.reason, deny.message, CloseCode.normal);
  }

  private sendAbort(reason: string, message: string, closeCode: number): void {
    this.closeReason ??= reason === ErrorUri.protocolViolation ? `protocol violation: ${message}` : reason;
    this.send({ type: MessageType.ABORT, details: { message }, reason });
    this.transport.close(closeCode, reason.slice(0, 100));
    this.finish(reason);
  }

  violation(message: string): void {
    this.abort(ErrorUri.protocolViolation, message, CloseCode.protocolError);
  }

  /**
   * Router-initiated close (shutdown, kill, revocation): GOODBYE, stop routing at once, wait for
   * the peer's GOODBYE for at most the close-handshake timeout, then close the transport.
   */
  goodbye(reason: string, message?: string): void {
    if (this.state !== 'established') {
      if (this.state !== 'closing' && this.state !== 'closed') this.abort(reason, message ?? 'session closed by the router');
      return;
    }
    this.send({ type: MessageType.GOODBYE, details: message ? { message } : {}, reason });
    this.leaveRealm(reason);
    this.state = 'closing';
    this.startTimer(this.host.limits.closeHandshakeTimeoutMs, 'close handshake timeout');
  }

  private finish(reason: string): void {
    this.clearTimer();
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.leaveRealm(reason);
    this.pendingChallenge = undefined;
    this.backlog = undefined;
    if (this.id) this.host.releaseSessionId(this.id);
    this.state = 'closed';
    this.transport.close(CloseCode.normal, '');
    this.host.sessionClosed(this, this.closeReason ?? reason);
  }

  private leaveRealm(reason: string): void {
    const realm = this.realm;
    if (!realm || this.state !== 'established') return;
    realm.leave(this);
    if (!logs(this.host.logger, 'info')) return;
    this.host.logger.info('session.left', {
      session: this.id, realm: realm.name, authid: this.authid, authrole: this.authrole, reason,
    });
  }

  private startTimer(ms: number, reason: string): void {
    this.clearTimer();
    this.timeout = timeoutList(reason, ms);
    this.timeout.start(this);
  }

  /** @internal The running timeout ran out. */
  timedOut(list: TimeoutList): void {
    if (this.timeout !== list) return;
    this.timeout = undefined;
    const reason = list.reason;
    if (this.state === 'closing') this.finish(reason);
    else if (this.state === 'authenticating') this.refuseLogin(this.realm?.name, { outcome: 'deny', reason: ErrorUri.protocolViolation, message: reason, cause: 'timeout' });
    else this.abort(ErrorUri.protocolViolation, reason);
  }

  private clearTimer(): void {
    this.timeout?.cancel(this);
    this.timeout = undefined;
  }

  // ----- handshake -----

  onHello(hello: Hello): void | Promise<void> {
    const details = hello.details;
    const roles = details.roles;
    if (!isDict(roles) || Object.keys(roles).length === 0 || !Object.keys(roles).every((r) => CLIENT_ROLES.has(r))) {
      return this.violation('HELLO.Details.roles must be a non-empty dict of publisher/subscriber/caller/callee');
    }
    const methods = details.authmethods ?? ['anonymous'];
    if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) {
      return this.violation('HELLO.Details.authmethods must be a list of strings');
    }
    for (const key of ['authid', 'authrole'] as const) {
      if (details[key] !== undefined && typeof details[key] !== 'string') return this.violation(`HELLO.Details.${key} must be a string`);
    }
    if (details.authextra !== undefined && !isDict(details.authextra)) return this.violation('HELLO.Details.authextra must be a dict');
    if (!isValidUri(hello.realm, 'exact', this.host.limits)) return this.abort(ErrorUri.invalidUri, 'invalid realm URI');

    const realm = this.host.findRealm(hello.realm);
    if (!realm) return this.abort(ErrorUri.noSuchRealm, 'no such realm');
    const authenticator = realm.selectAuthenticator(methods as string[]);
    if (!authenticator) return this.abort(ErrorUri.noAuthMethod, 'no acceptable authentication method');

    this.features = clientFeatures(roles);
    this.attemptMethod = authenticator.authmethod;
    this.attemptAuthid = details.authid as string | undefined;
    this.id = this.host.allocateSessionId();
    this.state = 'authenticating';
    this.startTimer(this.host.limits.authTimeoutMs, 'authentication timeout');
    return this.afterStep(realm, settle(() => authenticator.hello({
      realm: realm.name,
      sessionId: this.id,
      authid: details.authid as string | undefined,
      authrole: details.authrole as string | undefined,
      authextra: (details.authextra as Dict | undefined) ?? {},
      details,
      transport: plainInfo(this.transport.info),
    })));
  }

  onAuthenticate(message: Authenticate): void | Promise<void> {
    const challenge = this.pendingChallenge;
    // Single use: whatever the outcome, this challenge can never be answered again.
    this.pendingChallenge = undefined;
    if (!challenge || !this.realm) {
      return this.refuseLogin(this.realm?.name, { outcome: 'deny', reason: ErrorUri.notAuthorized, message: 'no pending authentication', cause: 'replay' });
    }
    return this.afterStep(this.realm, settle(() => challenge.verify(message.signature, message.extra)));
  }

  /**
   * Apply an authenticator's answer: at once when it answered synchronously (static users: no
   * promise per login), else when it settles, unless the session closed or timed out meanwhile.
   */
  private afterStep(realm: SessionRealm, outcome: MaybePromise<HelloOutcome>): void | Promise<void> {
    if (outcome instanceof Promise) return outcome.then((settled) => this.afterStep(realm, settled));
    if (this.state === 'authenticating') this.applyOutcome(realm, outcome);
  }

  private applyOutcome(realm: SessionRealm, outcome: HelloOutcome): void {
    switch (outcome.outcome) {
      case 'deny':
        return this.refuseLogin(realm.name, outcome);
      case 'challenge':
        this.realm = realm;
        this.pendingChallenge = outcome;
        this.attemptMethod = outcome.authmethod;
        this.send({ type: MessageType.CHALLENGE, authmethod: outcome.authmethod, extra: outcome.extra });
        return;
      case 'welcome':
        return this.join(realm, outcome.identity);
    }
  }

  private join(realm: SessionRealm, identity: Identity): void {
    if (!realm.hasRole(identity.authrole)) {
      return this.refuseLogin(realm.name, { outcome: 'deny', reason: ErrorUri.noSuchRole, message: 'no such role', cause: 'no_such_role' });
    }
    // Revoked or expired between CHALLENGE and AUTHENTICATE: never WELCOME it.
    if (!realm.credentialValid({ credential: identity.credential, authmethod: identity.authmethod })) {
      return this.refuseLogin(realm.name, { outcome: 'deny', reason: ErrorUri.notAuthorized, message: 'authentication failed', cause: 'revoked' });
    }
    this.clearTimer();
    this.realm = realm;
    this.authid = identity.authid;
    this.authrole = identity.authrole;
    this.authmethod = identity.authmethod;
    this.authprovider = identity.authprovider;
    this.authextra = sharedIfEmpty(identity.authextra);
    this.credential = identity.credential;
    this.rate = inboundRate(realm.rateFor(identity.authrole) ?? defaultRate(this.host.limits));
    this.state = 'established';
    realm.join(this);
    this.host.sessionJoined(this);
    this.metrics.authSucceeded(this.authmethod);
    this.send({
      type: MessageType.WELCOME,
      session: this.id,
      details: {
        realm: realm.name, authid: this.authid, authrole: this.authrole, authmethod: this.authmethod,
        authprovider: this.authprovider, authextra: this.authextra, roles: WELCOME_ROLES, agent: 'switchyard',
      },
    });
    if (!logs(this.host.logger, 'info')) return;
    this.host.logger.info('session.joined', {
      session: this.id, realm: realm.name, authid: this.authid, authrole: this.authrole,
      authmethod: this.authmethod, peer: this.transport.info.peer,
    });
  }

  /**
   * An in-process session (`router.session(...)`): the embedding code vouches for the identity, so
   * there is no HELLO and no authentication step; everything after WELCOME is the same as for a
   * remote session (role must exist, realm join, meta events, authorization on every action).
   */
  joinInProcess(realm: SessionRealm, identity: Identity, roles: Dict): void {
    if (this.state !== 'awaitingHello') return;
    this.features = clientFeatures(roles);
    this.id = this.host.allocateSessionId();
    this.state = 'authenticating';
    this.join(realm, identity);
  }

  onGoodbye(goodbye: Goodbye): void {
    if (this.state === 'closing') {
      // The peer answered our GOODBYE: the closing handshake is complete.
      this.transport.close(CloseCode.normal, '');
      this.finish(goodbye.reason);
      return;
    }
    this.send({ type: MessageType.GOODBYE, details: {}, reason: CloseUri.goodbyeAndOut });
    this.leaveRealm(goodbye.reason);
    // The transport may carry a new session after a GOODBYE exchange (wamp-spec §2.1).
    if (this.id) this.host.releaseSessionId(this.id);
    this.id = 0;
    this.realm = undefined;
    this.state = 'awaitingHello';
    this.startTimer(this.host.limits.helloTimeoutMs, 'hello timeout');
  }

  onAbort(abort: Abort): void {
    this.host.logger.info('session.client_abort', { session: this.id || undefined, reason: abort.reason });
    this.transport.close(CloseCode.normal, '');
    this.finish(abort.reason);
  }
}

/**
 * Run an authenticator step; a thrown error or a rejection refuses the login (fail-secure), it
 * never admits. A synchronous answer stays synchronous; any thenable is settled as a promise.
 */
function settle(step: () => MaybePromise<HelloOutcome>): MaybePromise<HelloOutcome> {
  try {
    const outcome = step();
    return typeof (outcome as { then?: unknown } | undefined)?.then === 'function' ? Promise.resolve(outcome).catch(authenticationFailed) : outcome;
  } catch {
    return authenticationFailed();
  }
}

/** An authenticator gets the connection's details as own properties (the transport's may be computed: listener.ts). */
function plainInfo({ type, remoteAddress, peer, protocol }: TransportInfo): TransportInfo {
  return { type, remoteAddress, peer, protocol };
}

function authenticationFailed(): Deny {
  return { outcome: 'deny', reason: ErrorUri.authenticationFailed, message: 'authentication failed' };
}

function defaultRate(limits: Limits): RateSettings {
  return { messagesPerSecond: limits.rateMessagesPerSecond, burst: limits.rateBurst, bytesPerSecond: limits.rateBytesPerSecond };
}

/** What every WELCOME announces; built once (only ever encoded, never changed). */
const WELCOME_ROLES = deepFreeze(routerRoles());

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
  return Object.freeze(value);
}

/** Both rates off (0 = unlimited): one shared object instead of two token buckets per session. */
const UNLIMITED: Pick<InboundRate, 'admit'> = { admit: () => 0 };

function inboundRate(settings: RateSettings): Pick<InboundRate, 'admit'> {
  return settings.messagesPerSecond === 0 && settings.bytesPerSecond === 0 ? UNLIMITED : new InboundRate(settings);
}

/** Most sessions have no authextra: they share one frozen empty dict. */
const EMPTY_DICT: Dict = Object.freeze({});

function sharedIfEmpty(dict: Dict | undefined): Dict {
  return dict === undefined || Object.keys(dict).length === 0 ? EMPTY_DICT : dict;
}

/** Where Arguments|list starts in each message a client may send with a payload. */
const PAYLOAD_INDEX: Partial<Record<number, number>> = {
  [MessageType.CALL]: 4, [MessageType.PUBLISH]: 4, [MessageType.YIELD]: 3, [MessageType.ERROR]: 5,
};

function messageName(message: ClientMessage): string {
  return MESSAGE_NAMES[message.type] ?? String(message.type);
}

const realmOf = (s: Session): SessionRealm => s.realm!;

/** Handler tables per state. Only `established` routes to the broker and dealer. */
const STATE_HANDLERS: Record<SessionState, HandlerTable> = {
  awaitingHello: {
    [MessageType.HELLO]: (s: Session, m: Hello) => s.onHello(m),
    [MessageType.ABORT]: (s: Session, m: Abort) => s.onAbort(m),
  },
  authenticating: {
    [MessageType.AUTHENTICATE]: (s: Session, m: Authenticate) => s.onAuthenticate(m),
    [MessageType.ABORT]: (s: Session, m: Abort) => s.onAbort(m),
  },
  established: {
    [MessageType.PUBLISH]: (s: Session, m: never) => realmOf(s).broker.publish(s, m),
    [MessageType.SUBSCRIBE]: (s: Session, m: never) => realmOf(s).broker.subscribe(s, m),
    [MessageType.UNSUBSCRIBE]: (s: Session, m: never) => realmOf(s).broker.unsubscribe(s, m),
    [MessageType.CALL]: (s: Session, m: never) => realmOf(s).dealer.call(s, m),
    [MessageType.CANCEL]: (s: Session, m: never) => realmOf(s).dealer.cancel(s, m),
    [MessageType.REGISTER]: (s: Session, m: never) => realmOf(s).dealer.register(s, m),
    [MessageType.UNREGISTER]: (s: Session, m: never) => realmOf(s).dealer.unregister(s, m),
    [MessageType.YIELD]: (s: Session, m: never) => realmOf(s).dealer.yield(s, m),
    [MessageType.ERROR]: (s: Session, m: never) => realmOf(s).dealer.invocationError(s, m),
    [MessageType.GOODBYE]: (s: Session, m: Goodbye) => s.onGoodbye(m),
    [MessageType.ABORT]: (s: Session, m: Abort) => s.onAbort(m),
  },
  closing: {
    [MessageType.GOODBYE]: (s: Session, m: Goodbye) => s.onGoodbye(m),
    [MessageType.ABORT]: (s: Session, m: Abort) => s.onAbort(m),
  },
  closed: {},
};
