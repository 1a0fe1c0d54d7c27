import type { Broker, Subscription } from '../../router/broker.js';
import { isDict } from '../../router/protocol/decode.js';
import { ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isMatchPolicy, isReservedUri } from '../../router/protocol/uri.js';
import type { Dealer } from '../../router/dealer.js';
import type { Session } from '../../router/session.js';

/**
 * Subscription meta API (wamp-spec §10.3): `wamp.subscription.*` procedures and the
 * on_create/on_subscribe/on_unsubscribe/on_delete events. Subscriptions to `wamp.` topics (meta
 * subscribers) publish no events, so watching the meta API does not feed itself.
 */

export function subscriptionDetails(s: Subscription): Dict {
  return { id: s.id, created: s.created, uri: s.uri, match: s.match };
}

export function installSubscriptionMeta(broker: Broker, dealer: Dealer): void {
  const provide = (name: string, handler: (args: unknown[], kwargs: Dict) => unknown) =>
    dealer.provide(`wamp.subscription.${name}`, (_caller, args, kwargs) => ({ args: [handler(args, kwargs)] }));
  const find = (id: unknown): Subscription => {
    const subscription = typeof id === 'number' ? broker.getSubscription(id) : undefined;
    if (!subscription) throw new WampError(ErrorUri.noSuchSubscription, 'no such subscription');
    return subscription;
  };
  provide('list', () => {
    const out: Record<string, number[]> = { exact: [], prefix: [], wildcard: [] };
    for (const s of broker.subscriptions()) out[s.match]!.push(s.id);
    return out;
  });
  provide('lookup', (args) => {
    const [uri, options] = args;
    const match = isDict(options) && options.match !== undefined ? options.match : 'exact';
    if (typeof uri !== 'string' || !isMatchPolicy(match)) throw new WampError(ErrorUri.invalidArgument, 'lookup(uri, {match})');
    return broker.lookupSubscription(uri, match)?.id ?? null;
  });
  provide('match', (args) => {
    if (typeof args[0] !== 'string') throw new WampError(ErrorUri.invalidArgument, 'match(uri)');
    const ids = broker.matchSubscriptions(args[0]).map((s) => s.id);
    return ids.length > 0 ? ids : null;
  });
  provide('get', (args) => subscriptionDetails(find(args[0])));
  provide('list_subscribers', (args) => [...find(args[0]).subscribers].map((s) => s.id));
  provide('count_subscribers', (args) => find(args[0]).subscribers.size);

  const publish = (event: string, session: Session, subscription: Subscription, payload: unknown) => {
    if (isReservedUri(subscription.uri)) return;
    broker.publishInternal(`wamp.subscription.${event}`, [session.id, payload]);
  };
  broker.observer = {
    subscriptionCreated: (s, sub) => publish('on_create', s, sub, subscriptionDetails(sub)),
    subscribed: (s, sub) => publish('on_subscribe', s, sub, sub.id),
    unsubscribed: (s, sub) => publish('on_unsubscribe', s, sub, sub.id),
    subscriptionDeleted: (s, sub) => publish('on_delete', s, sub, sub.id),
  };
}
