import type { Dealer } from '../../router/dealer.js';
import { then, type MaybePromise } from '../../router/maybe-async.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isDict } from '../../router/protocol/decode.js';
import { ErrorUri, WampError } from '../../router/protocol/errors.js';
import { isMatchPolicy, type MatchPolicy } from '../../router/protocol/uri.js';
import type { RoutedPeer } from '../../router/peer.js';
import type { MetaKind, MetaVisibility } from './visibility.js';

/** A router procedure of the meta API whose value (now or later) is the single result argument. */
export function provideValue(
  dealer: Dealer, procedure: string, handler: (caller: RoutedPeer, args: unknown[], kwargs: Dict) => MaybePromise<unknown>,
): void {
  dealer.provide(procedure, (caller, args, kwargs) => {
    const result = handler(caller, args, kwargs);
    return result instanceof Promise ? result.then((value) => ({ args: [value] })) : { args: [result] };
  });
}

/** One of the two catalogs the meta API lists: registrations or subscriptions. */
export interface Catalog<T extends { id: number; uri: string; match: MatchPolicy }> {
  kind: MetaKind;
  entries(): Iterable<T>;
  byId(id: number): T | undefined;
  lookup(uri: string, match: MatchPolicy): T | undefined;
  /** The error for an unknown (or invisible) ID. */
  missing: string;
}

/**
 * `wamp.<kind>.list` and `wamp.<kind>.lookup`, answering only about entries the caller may hear of;
 * returns how the kind's other procedures look entries up under the same rule.
 */
export function provideCatalog<T extends { id: number; uri: string; match: MatchPolicy }>(dealer: Dealer, visibility: MetaVisibility, catalog: Catalog<T>) {
  const { kind } = catalog;
  const visible = (caller: RoutedPeer, entry: T | undefined) => visibility.only(caller, kind, entry);
  provideValue(dealer, `wamp.${kind}.list`, (caller) => visibility.listByMatch(caller, kind, catalog.entries()));
  provideValue(dealer, `wamp.${kind}.lookup`, (caller, args) => then(visible(caller, catalog.lookup(...lookupArguments(args))), (e) => e?.id ?? null));
  return {
    visible,
    /** The entry with this ID if the caller may hear of it, else `missing` as for an unknown ID. */
    find: (caller: RoutedPeer, id: unknown) => visibility.require(caller, kind, typeof id === 'number' ? catalog.byId(id) : undefined, catalog.missing),
  };
}

/** The arguments of `lookup(uri, {match})` (match defaults to exact). */
export function lookupArguments(args: unknown[]): [string, MatchPolicy] {
  const [uri, options] = args;
  const match = isDict(options) && options.match !== undefined ? options.match : 'exact';
  if (typeof uri !== 'string' || !isMatchPolicy(match)) throw new WampError(ErrorUri.invalidArgument, 'lookup(uri, {match})');
  return [uri, match];
}
