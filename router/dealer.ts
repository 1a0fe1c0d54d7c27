import { UriIndex } from './matching/uri-index.js';
import type { Limits } from './limits.js';
import { all, then, type MaybePromise } from './maybe-async.js';
import { ErrorUri, WampError } from './protocol/errors.js';
import { routerScopeId } from './protocol/ids.js';
import {
  MessageType, type Call, type Cancel, type Dict, type ErrorMessage, type Register, type Unregister,
  type Yield,
} from './protocol/messages.js';
import { isMatchPolicy, isReservedUri, isValidUri, type MatchPolicy } from './protocol/uri.js';
import { InternalCaller, type CallResult } from './internal-caller.js';
import type { RoutedPeer } from './peer.js';
import { UNLOGGED_REFUSALS, type Authorizer, type Decision, type RefusalReporter } from './authorization.js';
import { NO_METRICS, type RoutingMetrics } from './ops/metrics.js';

/**
 * The dealer of one realm: registrations, callee selection and in-flight calls (wamp-spec §8).
 * A call lives in two maps, by caller request ID and by the callee's INVOCATION request ID, so
 * that either side leaving or answering finds it in one lookup.
 */

/**
 * Between the nodes of a cluster only: the callee a node routed a call to had already left. The
 * caller's node routes the call again (Dealer.routeAgain); no client ever sees this URI.
 */
export const CALLEE_GONE = 'switchyard.cluster.callee_gone';

export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';
const INVOKE_POLICIES = new Set<InvokePolicy>(['single', 'roundrobin', 'random', 'first', 'last']);
export type CancelMode = 'skip' | 'kill' | 'killnowait';
const CANCEL_MODES = new Set<CancelMode>(['skip', 'kill', 'killnowait']);

export interface Callee {
  readonly session: RoutedPeer;
  readonly registration: Registration;
  /** Crossbar-style cap on this callee's in-flight invocations; 0 = none. */
  readonly concurrency: number;
  readonly discloseCaller: boolean;
  inFlight: number;
  /** A callee on another cluster node, mirrored from the cluster's registry (see {@link DealerRemote}). */
  readonly mirrored?: boolean;
}

/** A callee of a registration as the cluster's registry lists it, for {@link Dealer.mirror}. */
export interface MirroredCallee {
  /** A local session, or a stand-in for a session on another node (`remote`). */
  readonly session: RoutedPeer;
  readonly remote: boolean;
  readonly concurrency: number;
  readonly discloseCaller: boolean;
}

/**
 * The rest of the cluster, as the dealer sees it (router/cluster/rpc-link.ts); undefined when
 * clustering is off, so a single node never waits for anything here. Remote callees appear in the
 * dealer through {@link Dealer.mirror} as ordinary callees whose peer forwards to their node.
 */
export interface DealerRemote {
  /**
   * Adds a local callee to the cluster-wide registration (a compare-and-set in the registry, so
   * `single` holds across nodes); resolves with the registration's cluster-wide id, rejects with a
   * WampError (procedure_already_exists, …, network_failure).
   */
  join(session: RoutedPeer, procedure: string, match: MatchPolicy, invoke: InvokePolicy, concurrency: number, discloseCaller: boolean): Promise<{ id: number; created: boolean }>;
  /** A local callee is gone (UNREGISTER, revocation, its session ended). */
  leave(session: RoutedPeer, procedure: string, match: MatchPolicy): void;
  /**
   * A CALL found no callee here, but this node's copy of the registry may be a moment behind
   * another node's REGISTER: read the exact registration of `procedure` from the registry itself.
   * Resolves true when that brought callees the dealer did not have (the call is matched again).
   */
  catchUp?(procedure: string): Promise<boolean>;
}

export interface Registration {
  readonly id: number;
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly invoke: InvokePolicy;
  readonly created: string;
  /** In registration order: `first` is the oldest, `last` the newest. */
  readonly callees: Callee[];
  roundRobin: number;
}

/**
 * One call in flight. A class with every field set from the start, so every pending call has one
 * shape on the hot path (an object literal with optional fields added later had several).
 */
class PendingCall {
  timer: NodeJS.Timeout | undefined = undefined;
  /** Set by CANCEL mode `kill`: the callee's answer still goes to the caller. */
  killRequested = false;

  constructor(
    readonly caller: RoutedPeer,
    readonly callRequest: number,
    readonly callee: Callee,
    readonly invocationRequest: number,
    readonly receiveProgress: boolean,
    /** Progressive call invocation: the caller is still sending chunks (wamp-spec §8.8). */
    public streaming: boolean,
    /** Was a progressive invocation (its late chunks are dropped after it ends). */
    readonly progressive: boolean,
    /** CALL.Options.timeout; restarts with every progressive result (wamp-spec §8.5). */
    readonly timeoutMs: number,
    /** `metrics.callStarted()` when routed, for the call latency histogram. */
    readonly startedAt: number,
    /** The CALL, kept for calls to a callee on another node: routed again if that callee has just left. */
    readonly retry: Call | undefined,
  ) {}
}

// Declared beside the internal caller, which the dealer answers through (router/internal-caller.ts).
export type { CallResult };

/** A router-provided procedure; throw a WampError to answer with a WAMP error. */
export type InternalProcedure = (caller: RoutedPeer, args: unknown[], kwargs: Dict) => CallResult | void | Promise<CallResult | void>;

/** Hooks for the meta API. */
export interface DealerObserver {
  registrationCreated?(session: RoutedPeer, registration: Registration): void;
  registered?(session: RoutedPeer, registration: Registration): void;
  unregistered?(session: RoutedPeer, registration: Registration): void;
  registrationDeleted?(session: RoutedPeer, registration: Registration): void;
}

export class Dealer {
  private readonly index = new UriIndex<Registration>();
  private readonly byId = new Map<number, Registration>();
  private readonly calleesBySession = new Map<RoutedPeer, Map<number, Callee>>();
  private readonly callsByCaller = new Map<RoutedPeer, Map<number, PendingCall>>();
  private readonly invocationsByCallee = new Map<RoutedPeer, Map<number, PendingCall>>();
  private readonly internal = new Map<string, InternalProcedure>();
  /** Request IDs of each caller's recently ended progressive invocations (bounded). */
  private readonly finishedProgressive = new Map<RoutedPeer, Set<number>>();
  observer: DealerObserver = {};
  /** CALLs already routed a second time after their remote callee had left: never a third. */
  private readonly retried = new WeakSet<Call>();
  /** Call latency (router/ops/metrics.ts); set by the router. */
  metrics: RoutingMetrics = NO_METRICS;
  /** Message and log line of a refused REGISTER or CALL (realms/refusals.ts); set by the realm. */
  refusals: RefusalReporter = UNLOGGED_REFUSALS;
  /** The other cluster nodes (router/cluster/rpc-link.ts); undefined on a single node. */
  remote: DealerRemote | undefined;
  /**
   * Cluster `preferLocal`: `roundrobin` and `random` choose among this node's own callees while it
   * has an available one, so a call crosses to another node only when it must.
   */
  preferLocal = false;

  constructor(private readonly authorizer: Authorizer, private readonly limits: Limits) {}

  get registrationCount(): number {
    return this.byId.size;
  }

  /** Peers the dealer keeps per-peer state for (callers, callees); a leak check for tests. */
  get trackedPeerCount(): number {
    return new Set([...this.callsByCaller.keys(), ...this.invocationsByCallee.keys(), ...this.calleesBySession.keys()]).size;
  }

  get pendingCallCount(): number {
    let n = 0;
    for (const calls of this.callsByCaller.values()) n += calls.size;
    return n;
  }

  getRegistration(id: number): Registration | undefined {
    return this.byId.get(id);
  }

  registrations(): IterableIterator<Registration> {
    return this.byId.values();
  }

  lookupRegistration(uri: string, match: MatchPolicy): Registration | undefined {
    return this.index.get(uri, match);
  }

  /** The registration a CALL to `uri` would use (ignoring delivery-time permission checks). */
  matchRegistration(uri: string): Registration | undefined {
    return this.index.bestMatch(uri);
  }

  register(session: RoutedPeer, message: Register): MaybePromise<void> {
    const reply = (uri: string, text: string) => session.sendError(MessageType.REGISTER, message.request, uri, text);
    const { options, procedure } = message;
    const match = options.match ?? 'exact';
    const invoke = options.invoke ?? 'single';
    const concurrency = options.concurrency ?? 0;
    if (!isMatchPolicy(match)) return reply(ErrorUri.invalidArgument, 'unknown match policy');
    if (!INVOKE_POLICIES.has(invoke as InvokePolicy)) return reply(ErrorUri.invalidArgument, 'unknown invoke policy');
    if (!Number.isSafeInteger(concurrency) || (concurrency as number) < 0) return reply(ErrorUri.invalidArgument, 'concurrency must be a positive integer');
    if (!isValidUri(procedure, match, this.limits)) return reply(ErrorUri.invalidUri, 'invalid procedure URI');
    if (isReservedUri(procedure)) return reply(ErrorUri.notAuthorized, 'the wamp. namespace is reserved for the router');
    if (match === 'exact' && this.internal.has(procedure)) return reply(ErrorUri.procedureAlreadyExists, 'procedure is provided by the router');
    return then(this.authorizer.decide(session, procedure, 'register'), (decision) => {
      if (!session.isActive()) return;
      if (!decision.allow) return reply(ErrorUri.notAuthorized, this.refusals.refused(session, 'register', procedure, decision));
      this.addCallee(session, message, match, invoke as InvokePolicy, concurrency as number);
    });
  }

  private addCallee(session: RoutedPeer, message: Register, match: MatchPolicy, invoke: InvokePolicy, concurrency: number): MaybePromise<void> {
    const reply = (uri: string, text: string) => session.sendError(MessageType.REGISTER, message.request, uri, text);
    const procedure = message.procedure;
    const own = this.sessionCallees(session);
    if (own.size >= this.limits.maxRegistrationsPerSession) return reply(ErrorUri.optionNotAllowed, 'too many registrations');

    // In a cluster the index also holds the other nodes' registrations, so these checks answer
    // most conflicts at once; the registry's compare-and-set below settles the races.
    const registration = this.index.get(procedure, match);
    if (registration) {
      if (registration.invoke === 'single' || invoke === 'single' || own.has(registration.id)) {
        return reply(ErrorUri.procedureAlreadyExists, 'procedure already registered');
      }
      if (registration.invoke !== invoke) {
        return reply(ErrorUri.procedureExistsWithDifferentInvocationPolicy, 'registered with a different invoke policy');
      }
    }
    const discloseCaller = message.options.disclose_caller === true;
    if (!this.remote) {
      const id = registration?.id ?? routerScopeId((taken) => this.byId.has(taken));
      return this.attachCallee(session, message.request, procedure, match, invoke, id, !registration, concurrency, discloseCaller);
    }
    const remote = this.remote;
    return remote.join(session, procedure, match, invoke, concurrency, discloseCaller).then(({ id, created }) => {
      if (!session.isActive()) return remote.leave(session, procedure, match);
      // The same session's second REGISTER of this URI, sent before the first was answered.
      if (this.sessionCallees(session).has(id)) return reply(ErrorUri.procedureAlreadyExists, 'procedure already registered');
      this.attachCallee(session, message.request, procedure, match, invoke, id, created, concurrency, discloseCaller);
    }, (error: unknown) => {
      if (!session.isActive()) return;
      if (error instanceof WampError) return reply(error.uri, error.message);
      reply(ErrorUri.networkFailure, 'the cluster registry cannot be reached');
    });
  }

  private attachCallee(
    session: RoutedPeer, request: number, procedure: string, match: MatchPolicy, invoke: InvokePolicy, id: number, created: boolean,
    concurrency: number, discloseCaller: boolean,
  ): void {
    const registration = this.registrationWithId(procedure, match, invoke, id);
    const callee: Callee = { session, registration, concurrency, discloseCaller, inFlight: 0 };
    registration.callees.push(callee);
    this.sessionCallees(session).set(registration.id, callee);
    session.send({ type: MessageType.REGISTERED, request, registration: registration.id });
    if (created) this.observer.registrationCreated?.(session, registration);
    this.observer.registered?.(session, registration);
  }

  /**
   * The registration of (uri, match) under `id`, created if missing. A registration there under
   * another id is a mirror of a cluster registration that has since been replaced (its callees'
   * node died and another took the URI over): its remote callees go.
   */
  private registrationWithId(uri: string, match: MatchPolicy, invoke: InvokePolicy, id: number): Registration {
    let registration = this.index.get(uri, match);
    if (registration && registration.id !== id) {
      for (const callee of registration.callees.filter((c) => c.mirrored)) this.removeCallee(callee);
      registration = this.index.get(uri, match);
      if (registration) return registration; // local callees the registry no longer lists: kept until they leave
    }
    if (!registration) {
      registration = { id, uri, match, invoke, created: new Date().toISOString(), callees: [], roundRobin: 0 };
      this.index.set(uri, match, registration);
      this.byId.set(id, registration);
    }
    return registration;
  }

  /**
   * Makes the registration of (uri, match) list `callees`, in that order, as the cluster's
   * registry does (router/cluster/rpc-link.ts): remote callees are added or dropped; a local
   * callee missing from the list stays (its own registry entry is still on its way), and a local
   * session listed without a callee here is skipped (its REGISTER is still being answered). With
   * no callee left the registration goes. Meta events stay with the node where a change happens.
   */
  mirror(uri: string, match: MatchPolicy, invoke: InvokePolicy, id: number, callees: readonly MirroredCallee[]): void {
    const current = this.index.get(uri, match);
    if (!current && !callees.some((c) => c.remote)) return;
    const registration = this.registrationWithId(uri, match, invoke, id);
    if (registration.id !== id) return;
    const unlisted = new Map(registration.callees.map((c) => [c.session, c]));
    const ordered: Callee[] = [];
    for (const entry of callees) {
      const known = unlisted.get(entry.session);
      if (known) {
        ordered.push(known);
        unlisted.delete(entry.session);
      } else if (entry.remote && !this.sessionCallees(entry.session).has(id)) {
        const callee: Callee = { session: entry.session, registration, concurrency: entry.concurrency, discloseCaller: entry.discloseCaller, inFlight: 0, mirrored: true };
        this.sessionCallees(entry.session).set(id, callee);
        ordered.push(callee);
      }
    }
    for (const callee of unlisted.values()) {
      if (callee.mirrored) this.calleesBySession.get(callee.session)?.delete(id);
      else ordered.push(callee);
    }
    registration.callees.splice(0, registration.callees.length, ...ordered);
    if (ordered.length === 0) this.forgetRegistration(registration);
  }

  /**
   * A call that another node's dealer routed to `calleeSession` of registration `registrationId`
   * here (router/cluster/rpc-link.ts): no callee selection and no caller-side authorization, which
   * that node did; `details` (caller disclosure, procedure) come from there too. Later chunks of a
   * progressive invocation arrive the same way. Timeout and cancel stay with the caller's node.
   */
  invokeCallee(caller: RoutedPeer, message: Call, registrationId: number, calleeSession: number, details: Dict): void {
    const ongoing = this.callsByCaller.get(caller)?.get(message.request);
    if (ongoing?.streaming) return this.continueInvocation(ongoing, message);
    if (ongoing || this.finishedProgressive.get(caller)?.has(message.request)) return;
    const reply = (uri: string, text: string) => caller.sendError(MessageType.CALL, message.request, uri, text);
    const callee = this.byId.get(registrationId)?.callees.find((c) => c.session.id === calleeSession && !c.mirrored);
    if (!callee) return reply(CALLEE_GONE, 'the callee left before the call arrived');
    // Each caller node counts only its own calls; the callee's own node holds the real cap.
    if (callee.concurrency > 0 && callee.inFlight >= callee.concurrency) return reply(ErrorUri.maxConcurrencyReached, 'the callee is at its concurrency limit');
    this.dispatch(caller, message, callee, details, 0);
  }

  unregister(session: RoutedPeer, message: Unregister): void {
    const callee = this.calleesBySession.get(session)?.get(message.registration);
    if (!callee) {
      return session.sendError(MessageType.UNREGISTER, message.request, ErrorUri.noSuchRegistration, 'no such registration');
    }
    this.removeCallee(callee);
    session.send({ type: MessageType.UNREGISTERED, request: message.request });
  }

  call(session: RoutedPeer, message: Call): MaybePromise<void> {
    // A further chunk of a progressive invocation goes to the callee chosen by the first one;
    // only the first chunk's options count (wamp-spec §8.8).
    const ongoing = this.callsByCaller.get(session)?.get(message.request);
    if (ongoing?.streaming) return this.continueInvocation(ongoing, message);
    // Chunks that arrive after their progressive call ended are dropped without reply.
    if (this.finishedProgressive.get(session)?.has(message.request)) return;
    if (message.options.progress === true && !session.hasFeature('caller', 'progressive_call_invocations')) {
      return session.violation('progress on CALL without announcing progressive_call_invocations');
    }
    const { procedure } = message;
    if (!isValidUri(procedure, 'exact', this.limits)) {
      return session.sendError(MessageType.CALL, message.request, ErrorUri.invalidUri, 'invalid procedure URI');
    }
    const decision = this.authorizer.decide(session, procedure, 'call');
    if (decision instanceof Promise) return decision.then((answer) => this.callDecided(session, message, answer));
    return this.callDecided(session, message, decision);
  }

  private callDecided(session: RoutedPeer, message: Call, decision: Decision): MaybePromise<void> {
    if (!session.isActive()) return;
    const { procedure } = message;
    if (!decision.allow) {
      return session.sendError(MessageType.CALL, message.request, ErrorUri.notAuthorized, this.refusals.refused(session, 'call', procedure, decision));
    }
    const internal = this.internal.get(procedure);
    if (internal) return this.answerInternally(session, message, internal);
    // An exact registration with a callee is always the best match (wamp-spec §8.3), and its
    // callees need no second authorization: the common case takes no detour through candidates().
    const exact = this.index.get(procedure, 'exact');
    if (exact && exact.callees.length > 0) return this.route(session, message, decision.disclose, exact, exact.callees);
    return then(this.candidates(procedure), (registrations) => {
      const remote = this.remote;
      if (!remote?.catchUp || registrations.some(([, callees]) => callees.length > 0)) return this.routeToBest(session, message, decision.disclose, registrations);
      return remote.catchUp(procedure).then((found) => found
        ? then(this.candidates(procedure), (again) => this.routeToBest(session, message, decision.disclose, again))
        : this.routeToBest(session, message, decision.disclose, registrations));
    });
  }

  /**
   * Registrations that may serve `procedure`, best first (wamp-spec §8.3). A callee on a pattern
   * registration is authorized again for the concrete URI: a prefix `app.` registration never
   * receives a call to `app.secret.x` its role may not register.
   */
  private candidates(procedure: string): MaybePromise<[Registration, Callee[]][]> {
    return all(this.index.matchAll(procedure).map((registration) => {
      if (registration.match === 'exact') return [registration, registration.callees] as [Registration, Callee[]];
      const callees = [...registration.callees];
      return then(all(callees.map((c) => this.authorizer.decide(c.session, procedure, 'register'))), (answers) =>
        [registration, callees.filter((_, i) => answers[i]!.allow)] as [Registration, Callee[]]);
    }));
  }

  /**
   * The router calling a procedure that a session registered (a dynamic authenticator), without
   * the caller-side permission check: resolves with the result, rejects with a WampError.
   */
  callInternal(procedure: string, args: unknown[], kwargs: Dict, timeoutMs: number): Promise<CallResult> {
    return new Promise((resolve, reject) => {
      const caller: InternalCaller = new InternalCaller(
        // Once answered, the one-shot caller leaves no per-caller entry behind in the dealer.
        (result) => { this.detach(caller); resolve(result); },
        (error) => { this.detach(caller); reject(error); },
      );
      const message: Call = { type: MessageType.CALL, request: caller.invocationIds.next(), options: { timeout: timeoutMs }, procedure, args, kwargs };
      then(this.candidates(procedure), (registrations) => this.routeToBest(caller, message, false, registrations));
    });
  }

  /** A procedure the router itself provides (meta API, credential issuing). */
  provide(procedure: string, handler: InternalProcedure): void {
    this.internal.set(procedure, handler);
  }

  private answerInternally(session: RoutedPeer, message: Call, handler: InternalProcedure): void {
    if (message.options.progress === true) return session.violation('progressive invocations of a router procedure');
    const answer = (result: CallResult | void) => {
      const failure = session.send({ type: MessageType.RESULT, request: message.request, details: {}, args: result?.args, kwargs: result?.kwargs });
      if (failure) session.sendError(MessageType.CALL, message.request, ErrorUri.invalidArgument, `the result cannot be delivered: ${failure}`);
    };
    const fail = (error: unknown) => {
      if (error instanceof WampError) {
        session.sendError(MessageType.CALL, message.request, error.uri, error.message, error.args, error.kwargs);
      } else {
        session.sendError(MessageType.CALL, message.request, 'wamp.error.runtime_error', 'internal error');
      }
    };
    try {
      const result = handler(session, message.args ?? [], message.kwargs ?? {});
      if (result instanceof Promise) result.then(answer, fail);
      else answer(result);
    } catch (error) {
      fail(error);
    }
  }

  /** The best registration with an authorized callee serves the call. */
  private routeToBest(session: RoutedPeer, message: Call, disclose: boolean, registrations: [Registration, Callee[]][]): void {
    const served = registrations.find(([, callees]) => callees.length > 0);
    this.route(session, message, disclose, served?.[0], served?.[1] ?? []);
  }

  private route(session: RoutedPeer, message: Call, disclose: boolean, registration: Registration | undefined, allowed: readonly Callee[]): void {
    if (!session.isActive()) return;
    const { options, procedure, request } = message;
    const calls = this.sessionCalls(session);
    if (calls.has(request)) return session.violation('CALL request ID already in use');
    if (calls.size >= this.limits.maxPendingCallsPerSession) return callError(session, request, ErrorUri.tooManyPendingCalls, 'too many pending calls');
    const timeout = options.timeout ?? 0;
    if (!Number.isSafeInteger(timeout) || (timeout as number) < 0) return callError(session, request, ErrorUri.invalidArgument, 'timeout must be a non-negative integer (ms)');

    if (!registration) return callError(session, request, ErrorUri.noSuchProcedure, 'no callee registered for procedure');
    const callee = pickCallee(registration, this.preferLocal ? localWhenAvailable(registration, allowed) : allowed);
    if (!callee) return callError(session, request, ErrorUri.maxConcurrencyReached, 'all callees are at their concurrency limit');

    const details: Dict = {};
    if (registration.match !== 'exact') details.procedure = procedure;
    if (disclose || callee.discloseCaller || options.disclose_me === true) {
      details.caller = session.id;
      details.caller_authid = session.authid;
      details.caller_authrole = session.authrole;
    }
    this.dispatch(session, message, callee, details, timeout as number);
  }

  /** Sends the INVOCATION of a call to the chosen callee and records the call. */
  private dispatch(session: RoutedPeer, message: Call, callee: Callee, details: Dict, timeout: number): void {
    const { options, request } = message;
    const progressive = options.progress === true;
    if (progressive && !callee.session.hasFeature('callee', 'progressive_call_invocations')) {
      return callError(session, request, ErrorUri.featureNotSupported, 'the callee does not accept progressive call invocations');
    }
    const receiveProgress = options.receive_progress === true && callee.session.hasFeature('callee', 'progressive_call_results');
    const retry = callee.mirrored && !progressive && !this.retried.has(message) ? message : undefined;
    const pending = new PendingCall(
      session, request, callee, callee.session.invocationIds.next(), receiveProgress, progressive, progressive, timeout,
      this.metrics.callStarted(), retry,
    );
    if (receiveProgress) details.receive_progress = true;
    if (progressive) details.progress = true;
    // Sent before the call is recorded: a payload the callee's serializer cannot carry refuses
    // the call (the callee never sees it) and leaves no state behind.
    const failure = callee.session.send({
      type: MessageType.INVOCATION, request: pending.invocationRequest, registration: callee.registration.id, details,
      args: message.args, kwargs: message.kwargs, encoded: message.encoded,
    });
    if (failure) return callError(session, request, ErrorUri.invalidArgument, `the callee cannot receive this call: ${failure}`);
    this.sessionCalls(session).set(request, pending);
    this.sessionInvocations(callee.session).set(pending.invocationRequest, pending);
    callee.inFlight++;
    if (timeout > 0) pending.timer = setTimeout(() => this.timeOut(pending), timeout);
  }

  private continueInvocation(pending: PendingCall, message: Call): void {
    const final = message.options.progress !== true;
    if (final) pending.streaming = false;
    const failure = pending.callee.session.send({
      type: MessageType.INVOCATION, request: pending.invocationRequest, registration: pending.callee.registration.id,
      details: final ? {} : { progress: true }, args: message.args, kwargs: message.kwargs, encoded: message.encoded,
    });
    if (failure) this.undeliverable(pending, `the callee cannot receive this call: ${failure}`, true);
  }

  /**
   * A message of this call could not be encoded for its receiver: the call ends with one ERROR
   * to the caller, and a callee that can be told so is interrupted.
   */
  private undeliverable(pending: PendingCall, text: string, interrupt: boolean): void {
    this.complete(pending);
    this.metrics.callFinished(pending.startedAt);
    if (interrupt) this.interruptOrForget(pending);
    pending.caller.sendError(MessageType.CALL, pending.callRequest, ErrorUri.invalidArgument, text);
  }

  yield(session: RoutedPeer, message: Yield): void {
    const pending = this.invocationsByCallee.get(session)?.get(message.request);
    // A YIELD for an unknown (e.g. canceled) invocation is ignored (wamp-spec §8.1).
    if (!pending) return;
    if (message.options.progress === true) {
      // Progressive results go only to callers that asked for them (wamp-spec §8.5).
      if (pending.timer) {
        clearTimeout(pending.timer);
        pending.timer = setTimeout(() => this.timeOut(pending), pending.timeoutMs);
      }
      if (pending.receiveProgress) {
        const failure = pending.caller.send({ type: MessageType.RESULT, request: pending.callRequest, details: { progress: true }, args: message.args, kwargs: message.kwargs, encoded: message.encoded });
        if (failure) this.undeliverable(pending, `a progressive result cannot be delivered: ${failure}`, true);
      }
      return;
    }
    this.complete(pending);
    this.metrics.callFinished(pending.startedAt);
    const failure = pending.caller.send({
      type: MessageType.RESULT, request: pending.callRequest, details: {}, args: message.args, kwargs: message.kwargs, encoded: message.encoded,
    });
    if (failure) pending.caller.sendError(MessageType.CALL, pending.callRequest, ErrorUri.invalidArgument, `the result cannot be delivered: ${failure}`);
  }

  /**
   * The callee's node answered that the callee had left before the call arrived (cluster: this
   * node's copy of the registry was a moment behind). Forget that callee here, as the registry is
   * about to say, and route the call once more, as if it had just come. False when the call cannot
   * be routed again (progressive, already retried, cancel under way): the caller then gets the error.
   */
  routeAgain(session: RoutedPeer, request: number): boolean {
    const pending = this.invocationsByCallee.get(session)?.get(request);
    const message = pending?.retry;
    if (!pending || !message || pending.killRequested) return false;
    this.complete(pending);
    if (pending.callee.mirrored) this.removeCallee(pending.callee);
    this.retried.add(message);
    void this.call(pending.caller, message);
    return true;
  }

  invocationError(session: RoutedPeer, message: ErrorMessage): void {
    const pending = this.invocationsByCallee.get(session)?.get(message.request);
    if (!pending) return;
    this.complete(pending);
    this.metrics.callFinished(pending.startedAt);
    const failure = pending.caller.send({
      type: MessageType.ERROR, requestType: MessageType.CALL, request: pending.callRequest, details: {},
      error: message.error, args: message.args, kwargs: message.kwargs, encoded: message.encoded,
    });
    if (failure) {
      pending.caller.sendError(MessageType.CALL, pending.callRequest, ErrorUri.invalidArgument, `the callee's error ${message.error} cannot be delivered: ${failure}`);
    }
  }

  cancel(session: RoutedPeer, message: Cancel): void {
    const pending = this.callsByCaller.get(session)?.get(message.request);
    if (!pending || pending.killRequested) return; // repeated or late CANCELs are ignored
    const requested = message.options.mode ?? 'killnowait';
    // Autobahn's parser rejects any other mode too; answering with an ERROR would leave the call
    // pending and give it two final answers.
    if (!CANCEL_MODES.has(requested as CancelMode)) return session.violation('CANCEL.Options.mode must be skip, kill or killnowait');
    // A callee that did not announce call_canceling never gets INTERRUPT (autobahn-js fails on it).
    const canInterrupt = pending.callee.session.hasFeature('callee', 'call_canceling');
    const mode: CancelMode = canInterrupt ? (requested as CancelMode) : 'skip';
    if (mode === 'kill') {
      pending.killRequested = true;
      this.interrupt(pending, 'kill');
      return;
    }
    this.complete(pending);
    if (mode === 'killnowait') this.interrupt(pending, 'killnowait');
    else pending.callee.session.forgotten?.(pending.invocationRequest);
    session.sendError(MessageType.CALL, pending.callRequest, ErrorUri.canceled, 'call canceled');
  }

  private timeOut(pending: PendingCall): void {
    pending.timer = undefined;
    this.complete(pending);
    this.interruptOrForget(pending);
    pending.caller.sendError(MessageType.CALL, pending.callRequest, ErrorUri.timeout, 'call timed out');
  }

  private rememberFinished(caller: RoutedPeer, request: number): void {
    let finished = this.finishedProgressive.get(caller);
    if (!finished) this.finishedProgressive.set(caller, (finished = new Set()));
    finished.add(request);
    if (finished.size > 64) finished.delete(finished.values().next().value!);
  }

  private interrupt(pending: PendingCall, mode: CancelMode): void {
    pending.callee.session.send({ type: MessageType.INTERRUPT, request: pending.invocationRequest, options: { mode } });
  }

  /** A call ended here while its callee still runs it: INTERRUPT where announced, else forgotten. */
  private interruptOrForget(pending: PendingCall): void {
    if (pending.callee.session.hasFeature('callee', 'call_canceling')) this.interrupt(pending, 'killnowait');
    else pending.callee.session.forgotten?.(pending.invocationRequest);
  }

  /** Forget an in-flight call on both sides; the caller is answered by whoever calls this. */
  private complete(pending: PendingCall): void {
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = undefined;
    if (pending.progressive) this.rememberFinished(pending.caller, pending.callRequest);
    this.callsByCaller.get(pending.caller)?.delete(pending.callRequest);
    this.invocationsByCallee.get(pending.callee.session)?.delete(pending.invocationRequest);
    pending.callee.inFlight--;
  }

  /**
   * A leaving session loses its registrations at once; its callers get `wamp.error.canceled` now
   * (never a hang), and its own calls are interrupted where the callee supports it (wamp-spec §2.5).
   */
  detach(session: RoutedPeer): void {
    for (const pending of [...(this.invocationsByCallee.get(session)?.values() ?? [])]) {
      this.complete(pending);
      pending.caller.sendError(MessageType.CALL, pending.callRequest, ErrorUri.canceled, 'callee disconnected from in-flight request');
    }
    for (const pending of [...(this.callsByCaller.get(session)?.values() ?? [])]) {
      this.complete(pending);
      this.interruptOrForget(pending);
    }
    for (const callee of [...(this.calleesBySession.get(session)?.values() ?? [])]) this.removeCallee(callee);
    this.calleesBySession.delete(session);
    this.callsByCaller.delete(session);
    this.invocationsByCallee.delete(session);
    this.finishedProgressive.delete(session);
  }

  /**
   * Forgets a peer that has nothing left here (no registration, no call either way), as detach
   * would; false while it still has something (the cluster's stand-ins for remote sessions).
   */
  release(peer: RoutedPeer): boolean {
    if (this.calleesBySession.get(peer)?.size || this.invocationsByCallee.get(peer)?.size || this.callsByCaller.get(peer)?.size) return false;
    this.detach(peer);
    return true;
  }

  /**
   * Router-initiated unregister (reload took the permission away): `[67, 0, {registration,
   * reason}]` only to callees that announced `registration_revocation` (wamp-spec §8.10).
   */
  revoke(callee: Callee, reason: string): void {
    if (!callee.registration.callees.includes(callee)) return;
    this.removeCallee(callee);
    if (callee.session.hasFeature('callee', 'registration_revocation')) {
      callee.session.send({ type: MessageType.UNREGISTERED, request: 0, details: { registration: callee.registration.id, reason } });
    }
  }

  /** Every callee of every registration (a snapshot). */
  calleeList(): Callee[] {
    return [...this.byId.values()].flatMap((registration) => [...registration.callees]);
  }

  private removeCallee(callee: Callee): void {
    const { registration, session } = callee;
    const at = registration.callees.indexOf(callee);
    if (at >= 0) registration.callees.splice(at, 1);
    this.calleesBySession.get(session)?.delete(registration.id);
    // A mirrored callee leaves on its own node, which tells the registry and the meta API.
    if (callee.mirrored) {
      if (registration.callees.length === 0) this.forgetRegistration(registration);
      return;
    }
    this.remote?.leave(session, registration.uri, registration.match);
    this.observer.unregistered?.(session, registration);
    if (registration.callees.length === 0) {
      this.forgetRegistration(registration);
      this.observer.registrationDeleted?.(session, registration);
    }
  }

  private forgetRegistration(registration: Registration): void {
    if (this.index.get(registration.uri, registration.match) === registration) this.index.delete(registration.uri, registration.match);
    this.byId.delete(registration.id);
  }

  private sessionCallees(session: RoutedPeer): Map<number, Callee> {
    let map = this.calleesBySession.get(session);
    if (!map) this.calleesBySession.set(session, (map = new Map()));
    return map;
  }

  private sessionCalls(session: RoutedPeer): Map<number, PendingCall> {
    let map = this.callsByCaller.get(session);
    if (!map) this.callsByCaller.set(session, (map = new Map()));
    return map;
  }

  private sessionInvocations(session: RoutedPeer): Map<number, PendingCall> {
    let map = this.invocationsByCallee.get(session);
    if (!map) this.invocationsByCallee.set(session, (map = new Map()));
    return map;
  }
}

/** ERROR for a CALL. */
function callError(caller: RoutedPeer, request: number, uri: string, text: string): void {
  caller.sendError(MessageType.CALL, request, uri, text);
}

const isAvailable = (c: Callee) => c.concurrency === 0 || c.inFlight < c.concurrency;

/**
 * The callees `preferLocal` lets `roundrobin` and `random` choose from: the local ones while one of
 * them is available, else all. `single`, `first` and `last` keep the one cluster-wide order.
 */
function localWhenAvailable(registration: Registration, callees: readonly Callee[]): readonly Callee[] {
  if (registration.invoke !== 'roundrobin' && registration.invoke !== 'random') return callees;
  if (!callees.some((c) => c.mirrored)) return callees;
  const local = callees.filter((c) => !c.mirrored);
  return local.some(isAvailable) ? local : callees;
}

/** Shared-registration callee choice (wamp-spec §8.2), skipping callees at their concurrency cap. */
export function pickCallee(registration: Registration, callees: readonly Callee[] = registration.callees): Callee | undefined {
  switch (registration.invoke) {
    case 'single':
    case 'first':
      return callees.find(isAvailable);
    case 'last':
      for (let i = callees.length - 1; i >= 0; i--) if (isAvailable(callees[i]!)) return callees[i];
      return undefined;
    case 'random': {
      const candidates = callees.filter(isAvailable);
      return candidates[Math.floor(Math.random() * candidates.length)];
    }
    case 'roundrobin':
      for (let tried = 0; tried < callees.length; tried++) {
        const callee = callees[registration.roundRobin++ % callees.length]!;
        if (isAvailable(callee)) return callee;
      }
      return undefined;
  }
}
