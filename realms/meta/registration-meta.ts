import type { Dealer, Registration } from '../../router/dealer.js';
import { isDict } from '../../router/protocol/decode.js';
import { ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isMatchPolicy, isReservedUri } from '../../router/protocol/uri.js';
import type { RoutedPeer } from '../../router/peer.js';
import type { Broker } from '../../router/broker.js';

/**
 * Registration meta API (wamp-spec §10.2): `wamp.registration.*` procedures and the
 * on_create/on_register/on_unregister/on_delete events. Registrations the router provides itself
 * are invisible here, and `wamp.` registrations publish no events.
 */

export function registrationDetails(r: Registration): Dict {
  return { id: r.id, created: r.created, uri: r.uri, match: r.match, invoke: r.invoke };
}

export function installRegistrationMeta(dealer: Dealer, broker: Broker): void {
  const provide = (name: string, handler: (args: unknown[], kwargs: Dict) => unknown) =>
    dealer.provide(`wamp.registration.${name}`, (_caller, args, kwargs) => ({ args: [handler(args, kwargs)] }));
  const find = (id: unknown): Registration => {
    const registration = typeof id === 'number' ? dealer.getRegistration(id) : undefined;
    if (!registration) throw new WampError(ErrorUri.noSuchRegistration, 'no such registration');
    return registration;
  };
  provide('list', () => {
    const out: Record<string, number[]> = { exact: [], prefix: [], wildcard: [] };
    for (const r of dealer.registrations()) out[r.match]!.push(r.id);
    return out;
  });
  provide('lookup', (args) => {
    const [uri, options] = args;
    const match = isDict(options) && options.match !== undefined ? options.match : 'exact';
    if (typeof uri !== 'string' || !isMatchPolicy(match)) throw new WampError(ErrorUri.invalidArgument, 'lookup(uri, {match})');
    return dealer.lookupRegistration(uri, match)?.id ?? null;
  });
  provide('match', (args) => {
    if (typeof args[0] !== 'string') throw new WampError(ErrorUri.invalidArgument, 'match(uri)');
    return dealer.matchRegistration(args[0])?.id ?? null;
  });
  provide('get', (args) => registrationDetails(find(args[0])));
  provide('list_callees', (args) => find(args[0]).callees.map((c) => c.session.id));
  provide('count_callees', (args) => find(args[0]).callees.length);

  const publish = (event: string, session: RoutedPeer, registration: Registration, payload: unknown) => {
    if (isReservedUri(registration.uri)) return;
    broker.publishInternal(`wamp.registration.${event}`, [session.id, payload]);
  };
  dealer.observer = {
    registrationCreated: (s, r) => publish('on_create', s, r, registrationDetails(r)),
    registered: (s, r) => publish('on_register', s, r, r.id),
    unregistered: (s, r) => publish('on_unregister', s, r, r.id),
    registrationDeleted: (s, r) => publish('on_delete', s, r, r.id),
  };
}
