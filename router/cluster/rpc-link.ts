/**
 * A realm's dealer joined to the other nodes' dealers through the KV registry.
 * TODO(issue 15, in progress): the dealer seam is not written yet; until it is, attaching a realm
 * connects nothing and calls stay on their node.
 */

import type { Realm } from '../../realms/realm.js';
import type { ClusterRuntime } from './index.js';
import type { MembershipChange } from './membership.js';

export interface RealmRpcLink {
  detach(): void;
  membershipChanged(change: MembershipChange): void;
  /** A key of the registration table changed (already applied to runtime.view). */
  registryChanged(key: string): void;
}

export function attachRpc(_runtime: ClusterRuntime, _realm: Realm): RealmRpcLink {
  return { detach: () => undefined, membershipChanged: () => undefined, registryChanged: () => undefined };
}
