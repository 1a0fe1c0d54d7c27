import type { Broker, Subscription } from '../../router/broker.js';
import { then, type MaybePromise } from '../../router/maybe-async.js';
import { ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isReservedUri } from '../../router/protocol/uri.js';
import type { Dealer } from '../../router/dealer.js';
import type { RoutedPeer } from '../../router/peer.js';
import type { Session } from '../../router/session.js';
import { provideCatalog, provideValue } from './provide.js';
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

export function installSubscriptionMeta(broker: Broker, dealer: Dealer, visibility: MetaVisibility): void {
  const provide = (name: string, handler: (caller: RoutedPeer, args: unknown[]) => MaybePromise<unknown>) =>
    provideValue(dealer, `wamp.subscription.${name}`, handler);
  const { find } = provideCatalog(dealer, visibility, {
    kind: 'subscription', entries: () => broker.subscriptions(), byId: (id) => broker.getSubscription(id),
    lookup: (uri, match) => broker.lookupSubscription(uri, match), missing: ErrorUri.noSuchSubscription,
  });
  provide('match', (caller, args) => {
    if (typeof args[0] !== 'string') throw new WampError(ErrorUri.invalidArgument, 'match(uri)');
    return then(visibility.filter(caller, 'subscription', broker.matchSubscriptions(args[0])), (shown) =>
      (shown.length > 0 ? shown.map((s) => s.id) : null));
  });
  provide('get', (caller, args) => then(find(caller, args[0]), subscriptionDetails));
  provide('list_subscribers', (caller, args) => then(find(caller, args[0]), (s) => [...s.subscribers].map((x) => x.id)));
  provide('count_subscribers', (caller, args) => then(find(caller, args[0]), (s) => s.subscribers.size));

  const publish = (event: string, session: Session, subscription: Subscription, payload: unknown) => {
    if (isReservedUri(subscription.uri)) return;
    void visibility.publish(`wamp.subscription.${event}`, 'subscription', subscription.uri, [session.id, payload]);
  };
  broker.observer = {
    subscriptionCreated: (s, sub) => publish('on_create', s, sub, subscriptionDetails(sub)),
    subscribed: (s, sub) => publish('on_subscribe', s, sub, sub.id),
    unsubscribed: (s, sub) => publish('on_unsubscribe', s, sub, sub.id),
    subscriptionDeleted: (s, sub) => publish('on_delete', s, sub, sub.id),
  };
}
