import type { Broker, BrokerObserver, Subscription } from '../../router/broker.js';
import { then, type MaybePromise } from '../../router/maybe-async.js';
import { ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isReservedUri, type MatchPolicy } from '../../router/protocol/uri.js';
import type { Dealer } from '../../router/dealer.js';
import type { RoutedPeer } from '../../router/peer.js';
import type { Session } from '../../router/session.js';
import { lookupArguments, provideValue } from './provide.js';
import type { MetaVisibility } from './visibility.js';

/**
 * Subscription meta API (wamp-spec §10.3): `wamp.subscription.*` procedures and the
 * on_create/on_subscribe/on_unsubscribe/on_delete events. Subscriptions to `wamp.` topics (meta
 * subscribers) publish no events, so watching the meta API does not feed itself. Each caller and
 * each event subscriber hears only of subscriptions whose topic its role may subscribe or publish
 * (visibility.ts).
 */

export function subscriptionDetails(s: Subscription): Dict {
  return { id: s.id, created: s.created, uri: s.uri, match: s.match };
}

/** A subscription as the meta API tells of it; plain data, so other nodes can send it. */
export interface SubscriptionInfo {
  id: number;
  uri: string;
  match: MatchPolicy;
  created: string;
  /** How many sessions are subscribed (on the answering node). */
  count: number;
  /** Their session IDs, when asked for. */
  subscribers?: number[];
}

/** Which subscriptions a question selects: all, by ID, by (uri, match) as lookup, or those matching a topic. */
export type SubscriptionQuery = { all: true } | { id: number } | { uri: string; match: MatchPolicy } | { topic: string };

/** One node's answer to a {@link SubscriptionQuery}. */
export interface NodeSubscriptions {
  node: string;
  subscriptions: SubscriptionInfo[];
}

/** The rest of the cluster, as the subscription meta API sees it (router/cluster/subscription-meta-link.ts); absent on one node. */
export interface SubscriptionMetaRemote {
  /** This node's id (it breaks ties between equal creation times). */
  readonly node: string;
  /** Every other live node's answer that arrived in time (a missing one makes the answer partial). */
  ask(query: SubscriptionQuery, subscribers: boolean): Promise<NodeSubscriptions[]>;
  /** A meta event raised here, for the other nodes' subscribers. */
  raised(topic: string, uri: string, args: unknown[]): void;
}

function subscriptionInfo(s: Subscription, subscribers: boolean): SubscriptionInfo {
  const info: SubscriptionInfo = { id: s.id, uri: s.uri, match: s.match, created: s.created, count: s.subscribers.size };
  if (subscribers) info.subscribers = [...s.subscribers].map((x) => x.id);
  return info;
}

/** One entry per subscription ID: the earliest creation, the subscribers of every node. */
function merge(lists: SubscriptionInfo[][]): SubscriptionInfo[] {
  const byId = new Map<number, SubscriptionInfo>();
  for (const info of lists.flat()) {
    const known = byId.get(info.id);
    if (!known) {
      byId.set(info.id, { ...info });
      continue;
    }
    if (info.created < known.created) known.created = info.created;
    known.count += info.count;
    if (known.subscribers && info.subscribers) known.subscribers = [...known.subscribers, ...info.subscribers];
  }
  return [...byId.values()];
}

export function installSubscriptionMeta(broker: Broker, dealer: Dealer, visibility: MetaVisibility): void {
  broker.observer = new SubscriptionMeta(broker, dealer, visibility);
}

/**
 * The procedures, and the broker's observer raising the events. In a cluster (`remote` set) the
 * procedures answer from every node's subscriptions, the events reach every node's subscribers,
 * and on_create/on_delete are raised by one node for the whole cluster: on_create by the node
 * whose subscription is the earliest (creation time, then node id) among those the other nodes
 * answer with, on_delete by a node whose last subscriber left when no other node answers with it.
 */
export class SubscriptionMeta implements BrokerObserver {
  /** Set when the realm is served by several nodes. */
  remote: SubscriptionMetaRemote | undefined;
  /** Per subscription ID, the events still being decided (cluster): later ones wait, so their order holds. */
  private readonly pending = new Map<number, Promise<void>>();

  constructor(private readonly broker: Broker, dealer: Dealer, private readonly visibility: MetaVisibility) {
    const provide = (name: string, handler: (caller: RoutedPeer, args: unknown[]) => MaybePromise<unknown>) =>
      provideValue(dealer, `wamp.subscription.${name}`, handler);
    const kind = 'subscription';
    /** The subscription with this ID if the caller may hear of it, else no_such_subscription as for an unknown ID. */
    const find = (caller: RoutedPeer, id: unknown, subscribers: boolean) =>
      then(typeof id === 'number' ? this.everywhere({ id }, subscribers) : [], (found) =>
        visibility.require(caller, kind, found[0], ErrorUri.noSuchSubscription));
    provide('list', (caller) => then(this.everywhere({ all: true }), (found) => visibility.listByMatch(caller, kind, found)));
    provide('lookup', (caller, args) => {
      const [uri, match] = lookupArguments(args);
      return then(this.everywhere({ uri, match }), (found) => then(visibility.only(caller, kind, found[0]), (s) => s?.id ?? null));
    });
    provide('match', (caller, args) => {
      if (typeof args[0] !== 'string') throw new WampError(ErrorUri.invalidArgument, 'match(uri)');
      return then(this.everywhere({ topic: args[0] }), (found) => then(visibility.filter(caller, kind, found), (shown) =>
        (shown.length > 0 ? shown.map((s) => s.id) : null)));
    });
    provide('get', (caller, args) => then(find(caller, args[0], false), ({ id, created, uri, match }) => ({ id, created, uri, match })));
    provide('list_subscribers', (caller, args) => then(find(caller, args[0], true), (s) => s.subscribers ?? []));
    provide('count_subscribers', (caller, args) => then(find(caller, args[0], false), (s) => s.count));
  }

  /** What this node answers to another node's question (router/cluster/subscription-meta-link.ts). */
  answer(query: SubscriptionQuery, subscribers: boolean): SubscriptionInfo[] {
    return this.select(query).map((s) => subscriptionInfo(s, subscribers));
  }

  /** A meta event raised on another node: for this node's subscribers who may hear of `uri`. */
  raisedElsewhere(topic: string, uri: string, args: unknown[]): void {
    void this.visibility.publish(topic, 'subscription', uri, args);
  }

  subscriptionCreated(session: Session, subscription: Subscription): void {
    this.raise(subscription, 'on_create', [session.id, subscriptionDetails(subscription)], (remote) => this.firstInCluster(remote, subscription));
  }

  subscribed(session: Session, subscription: Subscription): void {
    this.raise(subscription, 'on_subscribe', [session.id, subscription.id]);
  }

  unsubscribed(session: Session, subscription: Subscription): void {
    this.raise(subscription, 'on_unsubscribe', [session.id, subscription.id]);
  }

  subscriptionDeleted(session: Session, subscription: Subscription): void {
    this.raise(subscription, 'on_delete', [session.id, subscription.id], (remote) => this.lastInCluster(remote, subscription));
  }

  private select(query: SubscriptionQuery): Subscription[] {
    const one = (s: Subscription | undefined) => (s ? [s] : []);
    if ('all' in query) return [...this.broker.subscriptions()];
    if ('id' in query) return one(this.broker.getSubscription(query.id));
    if ('topic' in query) return this.broker.matchSubscriptions(query.topic);
    return one(this.broker.lookupSubscription(query.uri, query.match));
  }

  /** The subscriptions `query` selects on every node, one entry per subscription ID. */
  private everywhere(query: SubscriptionQuery, subscribers = false): MaybePromise<SubscriptionInfo[]> {
    const local = this.answer(query, subscribers);
    if (!this.remote) return local;
    return this.remote.ask(query, subscribers).then((answers) => merge([local, ...answers.map((a) => a.subscriptions)]));
  }

  /**
   * Publishes a meta event to this node's subscribers and the other nodes', unless `decide` (asked
   * in a cluster only) says it is another node's to raise. While one event of a subscription is
   * being decided, its later events wait, so subscribers see them in order.
   */
  private raise(subscription: Subscription, event: string, args: unknown[], decide?: (remote: SubscriptionMetaRemote) => Promise<boolean>): void {
    const { id, uri } = subscription;
    if (isReservedUri(uri)) return;
    const topic = `wamp.subscription.${event}`;
    const remote = this.remote;
    const publish = () => {
      void this.visibility.publish(topic, 'subscription', uri, args);
      remote?.raised(topic, uri, args);
    };
    const before = this.pending.get(id);
    if (!remote || (!decide && !before)) return publish();
    const done = (before ?? Promise.resolve())
      .then(() => (decide ? decide(remote) : true))
      .then((yes) => void (yes && publish()), () => undefined);
    this.pending.set(id, done);
    void done.then(() => {
      if (this.pending.get(id) === done) this.pending.delete(id);
    });
  }

  /** No other node answers with (uri, match) created before this node's (equal times: the lower node id is first). */
  private async firstInCluster(remote: SubscriptionMetaRemote, subscription: Subscription): Promise<boolean> {
    const answers = await remote.ask({ uri: subscription.uri, match: subscription.match }, false);
    const earlier = (created: string, node: string) => created < subscription.created || (created === subscription.created && node < remote.node);
    return !answers.some((a) => a.subscriptions.some((s) => earlier(s.created, a.node)));
  }

  /** No other node answers with (uri, match). */
  private async lastInCluster(remote: SubscriptionMetaRemote, subscription: Subscription): Promise<boolean> {
    const answers = await remote.ask({ uri: subscription.uri, match: subscription.match }, false);
    return answers.every((a) => a.subscriptions.length === 0);
  }
}
