import { UriIndex } from './matching/uri-index.js';
import type { Limits } from './limits.js';
import { all, then, type MaybePromise } from './maybe-async.js';
import { ErrorUri } from './protocol/errors.js';
import { randomId, routerScopeId } from './protocol/ids.js';
import { MessageType, type Dict, type Event, type Publish, type Subscribe, type Unsubscribe } from './protocol/messages.js';
import { isMatchPolicy, isReservedUri, isValidUri, type MatchPolicy } from './protocol/uri.js';
import { encodeFailureText, type Serializer } from './serializer/serializer.js';
import type { Session } from './session.js';
import { UNLOGGED_REFUSALS, type Authorizer, type Principal, type RefusalReporter } from './authorization.js';
import { NO_METRICS, type RoutingMetrics } from './ops/metrics.js';

/** What became of a publication: its ID, or the WAMP error that refused it. */
export type PublishOutcome = { publication: number } | { error: string; message: string };

/**
 * The broker of one realm: the subscription index and publication fan-out (wamp-spec §7).
 * Every publication is authorized for the publisher and, at delivery, for each subscriber on the
 * concrete topic, so a pattern subscription never leaks an event its role may not see
 * (style §1.8 lesson 6). An EVENT is encoded once per (subscription, serializer).
 */

export interface Subscription {
  readonly id: number;
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly created: string;
  readonly subscribers: Set<Session>;
}

/** Hooks for the meta API; the broker itself publishes nothing into `wamp.`. */
export interface BrokerObserver {
  subscriptionCreated?(session: Session, subscription: Subscription): void;
  subscribed?(session: Session, subscription: Subscription): void;
  unsubscribed?(session: Session, subscription: Subscription): void;
  subscriptionDeleted?(session: Session, subscription: Subscription): void;
}

export const RECEIVER_FILTER_KEYS = ['exclude', 'eligible', 'exclude_authid', 'exclude_authrole', 'eligible_authid', 'eligible_authrole'] as const;

/** The subscriber black/whitelist options of a publication (wamp-spec §7.3), as sent to other nodes. */
export type ReceiverFilterOptions = Partial<Record<typeof RECEIVER_FILTER_KEYS[number], unknown[]>>;

/** An accepted publication as the other nodes need it. */
export interface RemotePublication {
  topic: string;
  /** The origin's publication ID: every node delivers with it. */
  publication: number;
  /** Disclosed publisher details (`publisher`, `publisher_authid`, `publisher_authrole`), if disclosed. */
  publisher: Dict | undefined;
  args: unknown[] | undefined;
  kwargs: Dict | undefined;
  /** Applied by each receiving node to its own sessions (session IDs only match there). */
  filter: ReceiverFilterOptions;
  /** Published with `retain: true`: every node keeps it for `get_retained`. */
  retain?: boolean;
}

/**
 * The rest of the cluster as the broker sees it (router/cluster/pubsub-link.ts); undefined on a
 * single node, which then never calls into it.
 */
export interface BrokerRemote {
  /**
   * One local subscriber more (`added`) or fewer on (uri, match); the remote side counts them. The
   * broker sends SUBSCRIBED only once an added interest has resolved, so an event published on
   * another node right after SUBSCRIBED is not missed.
   */
  interest(uri: string, match: MatchPolicy, added: boolean): MaybePromise<void>;
  /** An accepted publication, once its local delivery is under way. */
  published(publication: RemotePublication): void;
  /** The subscription ID every node gives (uri, match), so a subscriber sees one ID whichever node it is on. */
  subscriptionId?(uri: string, match: MatchPolicy): number;
}

export class Broker {
  private readonly index = new UriIndex<Subscription>();
  private readonly byId = new Map<number, Subscription>();
  private readonly bySession = new Map<Session, Map<number, Subscription>>();
  observer: BrokerObserver = {};
  /** Event fan-out size (router/ops/metrics.ts); set by the router. */
  metrics: RoutingMetrics = NO_METRICS;
  /** Message and log line of a refused SUBSCRIBE or PUBLISH (realms/refusals.ts); set by the realm. */
  refusals: RefusalReporter = UNLOGGED_REFUSALS;
  /** The other nodes of a cluster; set by router/cluster/pubsub-link.ts, else undefined. */
  remote: BrokerRemote | undefined;
  private readonly queue: Delivery[] = [];
  /** Subscriptions whose authorization a reload put in doubt, until it is decided again. */
  private readonly recheck = new Set<Subscription>();
  /** The latest `retain: true` publication per topic, oldest first (wamp-spec §7.5). */
  private readonly retained = new Map<string, RetainedEvent>();

  constructor(private readonly authorizer: Authorizer, readonly limits: Limits) {}

  get subscriptionCount(): number {
    return this.byId.size;
  }

  getSubscription(id: number): Subscription | undefined {
    return this.byId.get(id);
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.byId.values();
  }

  lookupSubscription(uri: string, match: MatchPolicy): Subscription | undefined {
    return this.index.get(uri, match);
  }

  matchSubscriptions(topic: string): Subscription[] {
    return this.index.matchAll(topic);
  }

  subscribe(session: Session, message: Subscribe): MaybePromise<void> {
    const match = message.options.match ?? 'exact';
    if (!isMatchPolicy(match)) return session.sendError(MessageType.SUBSCRIBE, message.request, ErrorUri.invalidArgument, 'unknown match policy');
    if (!isValidUri(message.topic, match, this.limits)) return session.sendError(MessageType.SUBSCRIBE, message.request, ErrorUri.invalidUri, 'invalid topic URI');
    return then(this.authorizer.decide(session, message.topic, 'subscribe'), (decision) => {
      if (!session.isActive()) return; // left while a dynamic authorizer was thinking
      if (!decision.allow) {
        return session.sendError(MessageType.SUBSCRIBE, message.request, ErrorUri.notAuthorized, this.refusals.refused(session, 'subscribe', message.topic, decision));
      }
      return this.holdInterest(session, message, match);
    });
  }

  /**
   * In a cluster, the other nodes' events for (topic, match) must already flow to this node when
   * SUBSCRIBED goes out; the interest is held per subscriber and given back on any path that adds
   * none (re-subscribe, limit, the session left meanwhile).
   */
  private holdInterest(session: Session, message: Subscribe, match: MatchPolicy): MaybePromise<void> {
    const remote = this.remote;
    if (!remote) return this.addSubscriber(session, message, match);
    return then(remote.interest(message.topic, match, true), () => {
      let added = false;
      const done = session.isActive() ? this.addSubscriber(session, message, match, () => (added = true)) : undefined;
      if (!added) void remote.interest(message.topic, match, false);
      return done;
    });
  }

  private addSubscriber(session: Session, message: Subscribe, match: MatchPolicy, onAdded?: () => void): MaybePromise<void> {
    const own = this.sessionSubscriptions(session);
    let subscription = this.index.get(message.topic, match);
    if (subscription && own.has(subscription.id)) {
      // Re-subscribing returns the existing subscription (wamp-spec §3).
      session.send({ type: MessageType.SUBSCRIBED, request: message.request, subscription: subscription.id });
      return;
    }
    if (own.size >= this.limits.maxSubscriptionsPerSession) {
      return session.sendError(MessageType.SUBSCRIBE, message.request, ErrorUri.optionNotAllowed, 'too many subscriptions');
    }
    onAdded?.();
    const created = !subscription;
    if (!subscription) {
      subscription = {
        id: this.newSubscriptionId(message.topic, match), uri: message.topic, match,
        created: new Date().toISOString(), subscribers: new Set(),
      };
      this.index.set(subscription.uri, match, subscription);
      this.byId.set(subscription.id, subscription);
    }
    subscription.subscribers.add(session);
    own.set(subscription.id, subscription);
    session.send({ type: MessageType.SUBSCRIBED, request: message.request, subscription: subscription.id });
    if (created) this.observer.subscriptionCreated?.(session, subscription);
    this.observer.subscribed?.(session, subscription);
    if (message.options.get_retained === true) return this.sendRetained(session, subscription);
  }

  /**
   * After SUBSCRIBED, the retained events of every topic the subscription covers that this
   * subscriber would have been allowed to receive, each with `retained: true`.
   */
  private sendRetained(session: Session, subscription: Subscription): MaybePromise<void> {
    const covers = new UriIndex<true>();
    covers.set(subscription.uri, subscription.match, true);
    const candidates = [...this.retained.entries()].filter(([topic, event]) => covers.matchAll(topic).length > 0 && event.eligible(session));
    const decisions = all(candidates.map(([topic]) => this.authorizer.decide(session, topic, 'subscribe')));
    return then(decisions, (answers) => {
      candidates.forEach(([topic, event], i) => {
        if (!answers[i]!.allow || !subscription.subscribers.has(session)) return;
        const details: Dict = { ...event.details, retained: true };
        if (subscription.match !== 'exact') details.topic = topic;
        session.send({ type: MessageType.EVENT, subscription: subscription.id, publication: event.publication, details, args: event.args, kwargs: event.kwargs });
      });
    });
  }

  unsubscribe(session: Session, message: Unsubscribe): void {
    const subscription = this.bySession.get(session)?.get(message.subscription);
    if (!subscription) {
      return session.sendError(MessageType.UNSUBSCRIBE, message.request, ErrorUri.noSuchSubscription, 'no such subscription');
    }
    this.removeSubscriber(session, subscription);
    session.send({ type: MessageType.UNSUBSCRIBED, request: message.request });
  }

  publish(session: Session, message: Publish): MaybePromise<void> {
    const acknowledge = message.options.acknowledge === true;
    return then(this.publishAs(session, message.topic, message.args, message.kwargs, message.options), (outcome) => {
      if ('error' in outcome) {
        if (acknowledge) session.sendError(MessageType.PUBLISH, message.request, outcome.error, outcome.message);
      } else if (acknowledge && session.isActive()) {
        session.send({ type: MessageType.PUBLISHED, request: message.request, publication: outcome.publication });
      }
    });
  }

  /**
   * The publish path shared by a session's PUBLISH and the HTTP bridge: checks, authorization of
   * `publisher`, disclosure, retention and fan-out. Resolves once the events are handed out.
   */
  publishAs(publisher: Principal, topic: string, args: unknown[] | undefined, kwargs: Dict | undefined, options: Dict): MaybePromise<PublishOutcome> {
    const refuse = (error: string, message: string): PublishOutcome => ({ error, message });
    if (!isValidUri(topic, 'exact', this.limits)) return refuse(ErrorUri.invalidUri, 'invalid topic URI');
    if (isReservedUri(topic)) return refuse(ErrorUri.notAuthorized, 'the wamp. namespace is reserved for the router');
    const filter = parseReceiverFilter(options);
    if (!filter) return refuse(ErrorUri.invalidArgument, 'invalid exclude/eligible option');
    return then(this.authorizer.decide(publisher, topic, 'publish'), (decision) => {
      if (!decision.allow) return refuse(ErrorUri.notAuthorized, this.refusals.refused(publisher, 'publish', topic, decision));
      const excludeMe = options.exclude_me !== false;
      const disclosed = decision.disclose || options.disclose_me === true
        ? { publisher: publisher.id, publisher_authid: publisher.authid, publisher_authrole: publisher.authrole }
        : undefined;
      const publication = randomId();
      const eligible = (receiver: Session) => (receiver !== publisher || !excludeMe) && filter(receiver);
      if (options.retain === true) this.retain(topic, { publication, details: disclosed ?? {}, args, kwargs, eligible: filter });
      const local = then(this.receivers(topic, eligible), (deliveries): PublishOutcome => {
        let fanout = 0;
        for (const [, receivers] of deliveries) fanout += receivers.length;
        this.metrics.fanout(fanout);
        for (const [subscription, receivers] of deliveries) this.deliver(subscription, topic, publication, { args, kwargs }, disclosed, receivers);
        return { publication };
      });
      // Now, not once a dynamic authorizer has answered for the local receivers: those answers may
      // come back out of order, and the other nodes must get the publisher's order.
      this.remote?.published({ topic, publication, publisher: disclosed, args, kwargs, filter: receiverFilterOptions(options), retain: options.retain === true });
      return local;
    });
  }

  /**
   * A publication by the router itself (meta events, testaments): no publisher and no publish
   * check, but receivers are filtered and authorized exactly like for a client's PUBLISH.
   * `remote` says which receivers on other nodes may get it (their filter options); without it
   * the publication stays on this node, because `filter` is a local closure other nodes cannot run
   * (meta events whose audience depends on the receiver's role, realms/meta/visibility.ts).
   */
  publishInternal(
    topic: string, args: unknown[], kwargs?: Dict, exclude?: Session, filter: (r: Session) => boolean = () => true, remote?: ReceiverFilterOptions,
  ): MaybePromise<void> {
    const publication = randomId();
    const local = then(this.receivers(topic, (receiver) => receiver !== exclude && filter(receiver)), (deliveries) => {
      for (const [subscription, receivers] of deliveries) this.deliver(subscription, topic, publication, { args, kwargs }, undefined, receivers);
    });
    if (remote) this.remote?.published({ topic, publication, publisher: undefined, args, kwargs, filter: remote });
    return local;
  }

  /**
   * A publication that another node accepted, for the local subscription (uri, match) that NATS
   * delivered it to: filtered by its options among this node's sessions, each receiver authorized
   * on the concrete topic like for a local publication, delivered with the origin's publication ID.
   * A topic the subscription does not match (a forged message) is dropped; returns whether any
   * subscription took it.
   */
  /** The cluster's ID for (uri, match) unless this node already uses it; else a random one. */
  private newSubscriptionId(uri: string, match: MatchPolicy): number {
    const shared = this.remote?.subscriptionId?.(uri, match);
    return shared !== undefined && !this.byId.has(shared) ? shared : routerScopeId((id) => this.byId.has(id));
  }

  /** Topics with a retained event, oldest first. */
  retainedTopics(): IterableIterator<string> {
    return this.retained.keys();
  }

  /** A retained publication made on another node: kept as if published here, for `get_retained`. */
  adoptRetained(event: RemotePublication): void {
    const eligible = parseReceiverFilter(event.filter) ?? (() => true);
    this.retain(event.topic, { publication: event.publication, details: event.publisher ?? {}, args: event.args, kwargs: event.kwargs, eligible });
  }

  deliverRemote(uri: string, match: MatchPolicy, event: RemotePublication): MaybePromise<boolean> {
    const subscription = this.index.matchAll(event.topic).find((s) => s.uri === uri && s.match === match);
    const filter = parseReceiverFilter(event.filter);
    if (!subscription || !filter) return false;
    return then(this.receivers(event.topic, filter, [subscription]), (deliveries) => {
      for (const [target, receivers] of deliveries) {
        this.deliver(target, event.topic, event.publication, { args: event.args, kwargs: event.kwargs }, event.publisher, receivers);
      }
      return true;
    });
  }

  /**
   * Every (subscription, receivers) pair an event on `topic` goes to. Receivers on pattern
   * subscriptions are authorized again on the concrete topic: a pattern may cover URIs the
   * receiver's role may not see (style §1.8 lesson 6).
   */
  private receivers(
    topic: string, eligible: (receiver: Session) => boolean, subscriptions: Subscription[] = this.index.matchAll(topic),
  ): MaybePromise<[Subscription, Session[]][]> {
    const pending: MaybePromise<[Subscription, Session[]]>[] = [];
    for (const subscription of subscriptions) {
      const chosen = [...subscription.subscribers].filter(eligible);
      // Exact subscriptions were authorized for this very URI, unless a reload put that in doubt.
      if (subscription.match === 'exact' && !this.recheck.has(subscription)) {
        pending.push([subscription, chosen]);
        continue;
      }
      const decisions = all(chosen.map((receiver) => this.authorizer.decide(receiver, topic, 'subscribe')));
      pending.push(then(decisions, (answers) => [subscription, chosen.filter((_, i) => answers[i]!.allow)] as [Subscription, Session[]]));
    }
    return all(pending);
  }

  private deliver(
    subscription: Subscription, topic: string, publication: number, payload: { args?: unknown[]; kwargs?: Dict },
    publisher: Dict | undefined, receivers: Session[],
  ): void {
    const details: Dict = subscription.match === 'exact' ? {} : { topic };
    if (publisher) Object.assign(details, publisher);
    const job: Delivery = {
      subscription, receivers, next: 0,
      frames: new FrameCache({
        type: MessageType.EVENT, subscription: subscription.id, publication, details, args: payload.args, kwargs: payload.kwargs,
      }),
    };
    // Small fan-outs go out at once; big ones, and anything queued behind them (to keep each
    // publisher's order), are sent `fanoutChunkSize` receivers per event-loop turn.
    if (this.queue.length === 0 && receivers.length <= this.limits.fanoutChunkSize) {
      sendSome(job, receivers.length);
      return;
    }
    this.queue.push(job);
    if (this.queue.length === 1) setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    let budget = this.limits.fanoutChunkSize;
    while (budget > 0 && this.queue.length > 0) {
      const job = this.queue[0]!;
      budget -= sendSome(job, budget);
      if (job.next >= job.receivers.length) this.queue.shift();
    }
    if (this.queue.length > 0) setImmediate(this.drain);
  };

  /** Events waiting to be sent (fan-outs spread over several turns). */
  get queuedDeliveries(): number {
    return this.queue.length;
  }

  private retain(topic: string, event: RetainedEvent): void {
    this.retained.delete(topic);
    this.retained.set(topic, event);
    if (this.retained.size > this.limits.maxRetainedEvents) this.retained.delete(this.retained.keys().next().value!);
  }

  /**
   * Router-initiated unsubscribe (config reload took the permission away): the revocation form
   * `[35, 0, {subscription, reason}]` goes only to subscribers that announced
   * `subscription_revocation`; others are removed silently (wamp-spec §7.6).
   */
  revoke(session: Session, subscription: Subscription, reason: string): void {
    if (!subscription.subscribers.has(session)) return;
    this.removeSubscriber(session, subscription);
    if (session.hasFeature('subscriber', 'subscription_revocation')) {
      session.send({ type: MessageType.UNSUBSCRIBED, request: 0, details: { subscription: subscription.id, reason } });
    }
  }

  /** Check every delivery on this subscription at delivery time while a re-authorization runs. */
  recheckWhile(subscription: Subscription, settled: Promise<unknown>): void {
    this.recheck.add(subscription);
    settled.finally(() => this.recheck.delete(subscription));
  }

  /** Every (session, subscription) pair, for re-authorization after a reload. */
  *subscriberPairs(): Generator<[Session, Subscription]> {
    for (const subscription of [...this.byId.values()]) {
      for (const session of [...subscription.subscribers]) yield [session, subscription];
    }
  }

  /** Drop every subscription of a leaving session at once. */
  detach(session: Session): void {
    const own = this.bySession.get(session);
    if (!own) return;
    for (const subscription of [...own.values()]) this.removeSubscriber(session, subscription);
    this.bySession.delete(session);
  }

  private removeSubscriber(session: Session, subscription: Subscription): void {
    subscription.subscribers.delete(session);
    void this.remote?.interest(subscription.uri, subscription.match, false);
    this.bySession.get(session)?.delete(subscription.id);
    this.observer.unsubscribed?.(session, subscription);
    if (subscription.subscribers.size === 0) {
      this.index.delete(subscription.uri, subscription.match);
      this.byId.delete(subscription.id);
      this.observer.subscriptionDeleted?.(session, subscription);
    }
  }

  private sessionSubscriptions(session: Session): Map<number, Subscription> {
    let own = this.bySession.get(session);
    if (!own) this.bySession.set(session, (own = new Map()));
    return own;
  }
}

interface RetainedEvent {
  publication: number;
  /** Publisher disclosure, if the publication carried one. */
  details: Dict;
  args?: unknown[];
  kwargs?: Dict;
  /** The publication's black/whitelist: a retained event goes only to whom it could have gone. */
  eligible: (receiver: Session) => boolean;
}

interface Delivery {
  readonly subscription: Subscription;
  readonly receivers: Session[];
  readonly frames: FrameCache;
  next: number;
}

/** Send to up to `count` more receivers of a delivery; returns how many were handled. */
function sendSome(job: Delivery, count: number): number {
  const end = Math.min(job.receivers.length, job.next + count);
  const handled = end - job.next;
  for (; job.next < end; job.next++) {
    const receiver = job.receivers[job.next]!;
    // Skip receivers that unsubscribed or left while the event waited (dynamic decision, queue).
    if (!job.subscription.subscribers.has(receiver)) continue;
    const frame = job.frames.for(receiver.serializer);
    // A receiver whose serializer cannot carry the event is skipped; the others still get it.
    if (frame instanceof Uncarried) receiver.undeliverable(MessageType.EVENT, frame.reason);
    else receiver.sendFrame(frame);
  }
  return handled;
}

/** Why an event could not be encoded for one serializer. */
export class Uncarried {
  constructor(readonly reason: string) {}
}

/** Encodes a message at most once per serializer, on first use (a failure is remembered too). */
export class FrameCache {
  private readonly frames = new Map<Serializer, Buffer | string | Uncarried>();
  private array: unknown[] | undefined;
  constructor(private readonly message: Event) {}

  for(serializer: Serializer): Buffer | string | Uncarried {
    let frame = this.frames.get(serializer);
    if (frame === undefined) {
      this.array ??= encodeEvent(this.message);
      try {
        frame = serializer.encode(this.array);
      } catch (error) {
        frame = new Uncarried(encodeFailureText(serializer.name, error));
      }
      this.frames.set(serializer, frame);
    }
    return frame;
  }
}

function encodeEvent(e: Event): unknown[] {
  const head: unknown[] = [MessageType.EVENT, e.subscription, e.publication, e.details];
  const hasKwargs = e.kwargs !== undefined && Object.keys(e.kwargs).length > 0;
  if (hasKwargs) head.push(e.args ?? [], e.kwargs);
  else if (e.args !== undefined && e.args.length > 0) head.push(e.args);
  return head;
}

/**
 * Subscriber black/whitelisting (wamp-spec §7.3): returns a predicate, or undefined when an option
 * has the wrong type. Without any of these options every receiver passes.
 */
export function parseReceiverFilter(options: Dict): ((receiver: Session) => boolean) | undefined {
  const ids = (key: string) => listOf(options[key], (v): v is number => typeof v === 'number');
  const names = (key: string) => listOf(options[key], (v): v is string => typeof v === 'string');
  const exclude = ids('exclude');
  const eligible = ids('eligible');
  const excludeAuthid = names('exclude_authid');
  const excludeAuthrole = names('exclude_authrole');
  const eligibleAuthid = names('eligible_authid');
  const eligibleAuthrole = names('eligible_authrole');
  const all = [exclude, eligible, excludeAuthid, excludeAuthrole, eligibleAuthid, eligibleAuthrole];
  if (all.some((list) => list === null)) return undefined;
  if (all.every((list) => list === undefined)) return () => true;
  return (r) =>
    (!eligible || eligible.has(r.id)) && (!eligibleAuthid || eligibleAuthid.has(r.authid))
    && (!eligibleAuthrole || eligibleAuthrole.has(r.authrole)) && !exclude?.has(r.id)
    && !excludeAuthid?.has(r.authid) && !excludeAuthrole?.has(r.authrole);
}

/** The black/whitelist options of `options` (already checked by parseReceiverFilter). */
export function receiverFilterOptions(options: Dict): ReceiverFilterOptions {
  const picked: ReceiverFilterOptions = {};
  for (const key of RECEIVER_FILTER_KEYS) if (Array.isArray(options[key])) picked[key] = options[key] as unknown[];
  return picked;
}

/** undefined = option absent; null = present with the wrong type. */
function listOf<T>(value: unknown, is: (v: unknown) => v is T): Set<T> | undefined | null {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(is)) return null;
  return new Set(value);
}
