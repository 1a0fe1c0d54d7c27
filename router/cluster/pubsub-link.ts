/**
 * A realm's broker joined to the other nodes' brokers through ClusterPubSub.
 * TODO(issue 15, in progress): the broker seam is not written yet; until it is, attaching a realm
 * connects nothing and events stay on their node.
 */

import type { Realm } from '../../realms/realm.js';
import type { ClusterRuntime } from './index.js';
import type { MembershipChange } from './membership.js';
import { ClusterPubSub } from './pubsub.js';

export interface RealmPubSubLink {
  detach(): void;
  membershipChanged(change: MembershipChange): void;
}

export function createPubSub(runtime: ClusterRuntime): ClusterPubSub {
  return new ClusterPubSub(runtime.node.data, runtime.node.scheme, () => undefined, () => undefined);
}

export function attachPubSub(_runtime: ClusterRuntime, _realm: Realm): RealmPubSubLink {
  return { detach: () => undefined, membershipChanged: () => undefined };
}
