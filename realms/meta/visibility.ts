import type { Broker } from '../../router/broker.js';
import { all, then, type MaybePromise } from '../../router/maybe-async.js';
import { WampError } from '../../router/protocol/errors.js';
import type { MatchPolicy } from '../../router/protocol/uri.js';
import type { Session } from '../../router/session.js';
import type { Authorizer, Principal } from '../authorizer.js';
import type { Action } from '../permissions.js';

/**
 * What the meta API may tell a caller (issue 13.6): granting `wamp.registration.*` or
 * `wamp.subscription.*` must not hand out the URIs of procedures and topics the caller's role may
 * not use. A registration is visible to a principal that may `call` or `register` its URI, a
 * subscription to one that may `subscribe` or `publish` it; the question goes to the realm's own
 * decider (static rules, dynamic and application authorizer), with the URI as written, exactly
 * as REGISTER and SUBSCRIBE asked it. Anything invisible is answered as if it did not exist.
 */

export type MetaKind = 'registration' | 'subscription';

const ACTIONS: Record<MetaKind, readonly [Action, Action]> = {
  registration: ['call', 'register'],
  subscription: ['subscribe', 'publish'],
};

export class MetaVisibility {
  constructor(private readonly decider: Authorizer, private readonly broker: Broker) {}

  /** May `viewer` hear of a registration (or subscription) on `uri`? */
  visible(viewer: Principal, kind: MetaKind, uri: string): MaybePromise<boolean> {
    const [first, second] = ACTIONS[kind];
    return then(this.decider.decide(viewer, uri, first), (decision) =>
      decision.allow || then(this.decider.decide(viewer, uri, second), (other) => other.allow));
  }

  /** The items whose URI `viewer` may hear of, in their order. */
  filter<T extends { uri: string }>(viewer: Principal, kind: MetaKind, items: Iterable<T>): MaybePromise<T[]> {
    const list = [...items];
    return then(all(list.map((item) => this.visible(viewer, kind, item.uri))), (shown) => list.filter((_, i) => shown[i]));
  }

  /** `item` if `viewer` may hear of it, else undefined (as for a missing one). */
  only<T extends { uri: string }>(viewer: Principal, kind: MetaKind, item: T | undefined): MaybePromise<T | undefined> {
    if (!item) return undefined;
    return then(this.visible(viewer, kind, item.uri), (shown) => (shown ? item : undefined));
  }

  /** `list`: the IDs of the entries `viewer` may hear of, by match policy. */
  listByMatch(viewer: Principal, kind: MetaKind, entries: Iterable<{ id: number; uri: string; match: MatchPolicy }>): MaybePromise<Record<MatchPolicy, number[]>> {
    return then(this.filter(viewer, kind, entries), (shown) => {
      const out: Record<MatchPolicy, number[]> = { exact: [], prefix: [], wildcard: [] };
      for (const entry of shown) out[entry.match].push(entry.id);
      return out;
    });
  }

  /** `entry` if `viewer` may hear of it; else the `missing` error, exactly as for an ID that does not exist. */
  require<T extends { uri: string }>(viewer: Principal, kind: MetaKind, entry: T | undefined, missing: string): MaybePromise<T> {
    return then(this.only(viewer, kind, entry), (shown) => {
      if (!shown) throw new WampError(missing, `no such ${kind}`);
      return shown;
    });
  }

  /**
   * A meta event about a registration or subscription on `uri`, delivered only to those
   * subscribers of `topic` who may hear of `uri` (the broker still applies their subscribe check).
   */
  publish(topic: string, kind: MetaKind, uri: string, args: unknown[]): MaybePromise<void> {
    const candidates = new Set<Session>();
    for (const subscription of this.broker.matchSubscriptions(topic)) {
      for (const subscriber of subscription.subscribers) candidates.add(subscriber);
    }
    if (candidates.size === 0) return;
    const list = [...candidates];
    return then(all(list.map((s) => this.visible(s, kind, uri))), (shown) => {
      const audience = new Set(list.filter((_, i) => shown[i]));
      if (audience.size > 0) return this.broker.publishInternal(topic, args, undefined, undefined, (r) => audience.has(r));
    });
  }
}
