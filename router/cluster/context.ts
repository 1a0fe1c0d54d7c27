/**
 * What the realm links (pubsub-link, rpc-link, meta-link, auth-link) need of the cluster runtime
 * (index.ts implements it). Declared here, below both, so that the runtime can build the links
 * without the links importing the runtime back.
 */

import type { KV, KvEntry } from 'nats';
import type { ClusterConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { ClusterNode } from './node.js';
import type { ClusterPubSub } from './pubsub.js';
import type { RegistryStore, RegistryView } from './registry.js';

export interface ClusterContext {
  readonly config: ClusterConfig;
  readonly node: ClusterNode;
  readonly logger: Logger;
  /** The cluster's registration table: compare-and-set writes, and this node's copy of it. */
  readonly store: RegistryStore;
  readonly view: RegistryView;
  readonly pubsub: ClusterPubSub;
  /** The latest retained publication per (realm, topic), for get_retained on any node. */
  readonly retainKv: KV;
  /** NATS reachable now: cross-node work is refused at once while it is not. */
  readonly connected: boolean;
  /** Called after each reconnect to NATS, once the buckets exist again and the registry view is current. */
  onReconnect(listener: () => void): () => void;
  /** A registration read from the bucket before the watch brought it; false if the watch was first. */
  adopt(entry: KvEntry): boolean;
}
