import type { Dealer, Registration } from '../../router/dealer.js';
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

  const publish = (event: string, session: RoutedPeer, registration: Registration, payload: unknown) => {
    if (isReservedUri(registration.uri)) return;
    void visibility.publish(`wamp.registration.${event}`, 'registration', registration.uri, [session.id, payload]);
  };
  dealer.observer = {
    registrationCreated: (s, r) => publish('on_create', s, r, registrationDetails(r)),
    registered: (s, r) => publish('on_register', s, r, r.id),
    unregistered: (s, r) => publish('on_unregister', s, r, r.id),
    registrationDeleted: (s, r) => publish('on_delete', s, r, r.id),
  };
}
