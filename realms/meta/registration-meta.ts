import type { Dealer, DealerObserver, Registration } from '../../router/dealer.js';
import { then, type MaybePromise } from '../../router/maybe-async.js';
import { ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isReservedUri } from '../../router/protocol/uri.js';
import type { RoutedPeer } from '../../router/peer.js';
import { provideCatalog, provideValue } from './provide.js';
import type { MetaVisibility } from './visibility.js';

/**
 * Registration meta API (wamp-spec §10.2): `wamp.registration.*` procedures and the
 * on_create/on_register/on_unregister/on_delete events. Registrations the router provides itself
 * are invisible here, and `wamp.` registrations publish no events. Each caller and each event
 * subscriber hears only of registrations whose URI its role may call or register (visibility.ts).
 */

export function registrationDetails(r: Registration): Dict {
  return { id: r.id, created: r.created, uri: r.uri, match: r.match, invoke: r.invoke };
}

export function installRegistrationMeta(dealer: Dealer, visibility: MetaVisibility): void {
  const provide = (name: string, handler: (caller: RoutedPeer, args: unknown[]) => MaybePromise<unknown>) =>
    provideValue(dealer, `wamp.registration.${name}`, handler);
  const { visible, find } = provideCatalog(dealer, visibility, {
    kind: 'registration', entries: () => dealer.registrations(), byId: (id) => dealer.getRegistration(id),
    lookup: (uri, match) => dealer.lookupRegistration(uri, match), missing: ErrorUri.noSuchRegistration,
  });
  provide('match', (caller, args) => {
    if (typeof args[0] !== 'string') throw new WampError(ErrorUri.invalidArgument, 'match(uri)');
    return then(visible(caller, dealer.matchRegistration(args[0])), (r) => r?.id ?? null);
  });
  provide('get', (caller, args) => then(find(caller, args[0]), registrationDetails));
  provide('list_callees', (caller, args) => then(find(caller, args[0]), (r) => r.callees.map((c) => c.session.id)));
  provide('count_callees', (caller, args) => then(find(caller, args[0]), (r) => r.callees.length));

  dealer.observer = new RegistrationEvents(dealer, visibility);
}

/** The rest of the cluster, as the registration meta events see it (router/cluster/meta-link.ts); absent on one node. */
export interface RegistrationMetaRemote {
  /** A meta event raised here, for the other nodes' subscribers. */
  raised(topic: string, uri: string, args: unknown[]): void;
}

/**
 * The dealer's observer: raises the events here and, in a cluster, on every node. There the
 * cluster's registry decides on_create (the REGISTER whose compare-and-set created the entry) and
 * on_delete ({@link changedInCluster}): this node's dealer may still list, or not yet list, callees
 * of other nodes, so its own "no callee left" would be raised by no node or by several.
 */
export class RegistrationEvents implements DealerObserver {
  /** Set when the realm is served by several nodes. */
  remote: RegistrationMetaRemote | undefined;

  constructor(private readonly dealer: Dealer, private readonly visibility: MetaVisibility) {}

  registrationCreated(session: RoutedPeer, registration: Registration): void {
    this.raise('on_create', registration.uri, [session.id, registrationDetails(registration)]);
  }

  registered(session: RoutedPeer, registration: Registration): void {
    this.raise('on_register', registration.uri, [session.id, registration.id]);
  }

  unregistered(session: RoutedPeer, registration: Registration): void {
    this.raise('on_unregister', registration.uri, [session.id, registration.id]);
  }

  registrationDeleted(session: RoutedPeer, registration: Registration): void {
    if (!this.dealer.remote) this.raise('on_delete', registration.uri, [session.id, registration.id]);
  }

  /**
   * The cluster's registry dropped a callee (on_unregister: one of a dead node's) or the whole
   * registration (on_delete), and it is this node's to say so (router/cluster/meta-link.ts).
   */
  changedInCluster(event: 'on_unregister' | 'on_delete', session: number, registration: { id: number; uri: string }): void {
    this.raise(event, registration.uri, [session, registration.id]);
  }

  /** A meta event raised on another node: for this node's subscribers who may hear of `uri`. */
  raisedElsewhere(topic: string, uri: string, args: unknown[]): void {
    void this.visibility.publish(topic, 'registration', uri, args);
  }

  private raise(event: string, uri: string, args: unknown[]): void {
    if (isReservedUri(uri)) return;
    const topic = `wamp.registration.${event}`;
    void this.visibility.publish(topic, 'registration', uri, args);
    this.remote?.raised(topic, uri, args);
  }
}
