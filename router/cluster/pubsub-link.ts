/**
 * A realm's broker joined to the other nodes' brokers through ClusterPubSub (design §3.3).
 *
 * Outbound: the broker reports each accepted publication once its local delivery is under way
 * (`BrokerRemote.published`); it is encoded once (envelope.ts) and published on the topic's event
 * subject, and NATS copies it to every node with a matching subscription. Inbound: each message
 * names one local WAMP subscription, whose broker delivers it with the origin's publication ID,
 * after the receiver filter and each receiver's permission check on this node
 * (`Broker.deliverRemote`). Interest is held per local subscriber and counted in ClusterPubSub.
 *
 * Nothing here can block or fail local delivery: while NATS is down ClusterPubSub drops and counts,
 * and a publication that cannot cross (too big, not encodable) is counted and logged once.
 */

import { createHash } from 'node:crypto';
import type { Broker, BrokerRemote } from '../broker.js';
import type { MatchPolicy } from '../protocol/uri.js';
import type { Realm } from '../../realms/realm.js';
import { decodeEnvelope, encodeEnvelope, type EventEnvelope } from './envelope.js';
import { encodeToken } from './subjects.js';
import type { ClusterContext } from './context.js';
import type { MembershipChange } from './membership.js';
import { ENVELOPE_ALLOWANCE_BYTES } from './node.js';
import { ClusterPubSub, type InterestKey } from './pubsub.js';

export interface RealmPubSubLink {
  detach(): void;
  membershipChanged(change: MembershipChange): void;
}

/** The brokers of the attached realms, by realm name, for each runtime's ClusterPubSub. */
const attached = new WeakMap<ClusterPubSub, Map<string, Broker>>();

export function createPubSub(runtime: ClusterContext): ClusterPubSub {
  const brokers = new Map<string, Broker>();
  const pubsub = new ClusterPubSub(runtime.node.data, runtime.node.scheme, (interest, event) => {
    const broker = brokers.get(interest.realm);
    if (broker) deliver(runtime, broker, interest, event);
  });
  attached.set(pubsub, brokers);
  return pubsub;
}

/** Hands one inbound event to the broker; a failure is logged, never thrown into the NATS client. */
function deliver(runtime: ClusterContext, broker: Broker, interest: InterestKey, event: EventEnvelope): void {
  const fail = (error: unknown) => runtime.logger.limited('cluster.event_failed', { node: runtime.node.node, realm: interest.realm, topic: event.topic, error: String(error) }, 'error');
  try {
    const done = broker.deliverRemote(interest.uri, interest.match, event);
    if (done instanceof Promise) done.catch(fail);
  } catch (error) {
    fail(error);
  }
}

/**
 * The first 53 bits of SHA-256(realm, match, uri), 0 mapped to 1: the same on every node without
 * any coordination, and as unpredictable as the spec's random IDs to anyone who does not know the URI.
 */
export function sharedSubscriptionId(realm: string, uri: string, match: MatchPolicy): number {
  const digest = createHash('sha256').update(JSON.stringify([realm, match, uri])).digest();
  const id = digest.readUIntBE(0, 6) * 32 + (digest[6]! >> 3); // 48 + 5 bits
  return id === 0 ? 1 : id;
}

/** One key per (realm, topic) in the retain bucket: the latest retained publication wins. */
function retainedKey(realm: string, topic: string): string {
  return `${encodeToken(realm)}.${encodeToken(topic)}`;
}

/**
 * Every retained publication of the realm, made on any node, kept by this node's broker too, so a
 * subscriber asking for retained events gets the same ones whichever node it is on. The watch starts
 * again after each reconnect: a NATS restart ends it (and a memory bucket loses what it held; each
 * broker keeps the retained events it already had).
 */
function followRetained(runtime: ClusterContext, realm: Realm): () => void {
  const failed = (error: unknown) => runtime.logger.error('cluster.retain_watch_failed', { node: runtime.node.node, realm: realm.name, error: String(error) });
  let watch: Awaited<ReturnType<ClusterContext['retainKv']['watch']>> | undefined;
  let stopped = false;
  const follow = async () => {
    watch?.stop();
    const current = await runtime.retainKv.watch({ key: `${encodeToken(realm.name)}.>` });
    if (stopped) return current.stop();
    watch = current;
    for await (const entry of current) {
      if (entry.operation !== 'PUT') continue;
      const event = decodeEnvelope(entry.value);
      if (event && event.realm === realm.name) realm.broker.adoptRetained(event);
    }
  };
  follow().catch(failed);
  const stopFollowingReconnects = runtime.onReconnect(() => void follow().catch(failed));
  return () => {
    stopped = true;
    stopFollowingReconnects();
    watch?.stop();
  };
}

export function attachPubSub(runtime: ClusterContext, realm: Realm): RealmPubSubLink {
  const pubsub = runtime.pubsub;
  const broker = realm.broker;
  const key = (uri: string, match: MatchPolicy): InterestKey => ({ realm: realm.name, uri, match });
  const remote: BrokerRemote = {
    interest: (uri, match, added) => (added ? pubsub.hold(key(uri, match)) : pubsub.release(key(uri, match))),
    published: publisher(runtime, realm),
    subscriptionId: (uri, match) => sharedSubscriptionId(realm.name, uri, match),
  };
  broker.remote = remote;
  attached.get(pubsub)?.set(realm.name, broker);
  // Subscribers from before the attach (none at start-up) hold interest like later ones.
  for (const [, subscription] of broker.subscriberPairs()) void pubsub.hold(key(subscription.uri, subscription.match));
  const stopRetained = followRetained(runtime, realm);
  return {
    detach() {
      stopRetained();
      if (broker.remote === remote) broker.remote = undefined;
      attached.get(pubsub)?.delete(realm.name);
      pubsub.releaseRealm(realm.name);
    },
    // NATS interest follows connections: a node that leaves takes its subscriptions with it.
    membershipChanged: () => undefined,
  };
}

/** Encodes and sends each publication of `realm`, refusing (counted, logged once) what cannot cross. */
function publisher(runtime: ClusterContext, realm: Realm): BrokerRemote['published'] {
  const pubsub = runtime.pubsub;
  const maxBytes = realm.broker.limits.maxMessageBytes + ENVELOPE_ALLOWANCE_BYTES;
  let warned = false;
  const refuse = (topic: string, reason: string) => {
    pubsub.refused++;
    if (warned) return;
    warned = true;
    runtime.logger.warn('cluster.publication_not_sent', { node: runtime.node.node, realm: realm.name, topic, reason, note: 'further ones are only counted' });
  };
  return (publication) => {
    let envelope: Uint8Array;
    try {
      envelope = encodeEnvelope({ realm: realm.name, ...publication });
    } catch (error) {
      return refuse(publication.topic, `not encodable: ${String(error).slice(0, 120)}`);
    }
    if (envelope.byteLength > maxBytes) return refuse(publication.topic, `envelope of ${envelope.byteLength} bytes is over ${maxBytes}`);
    pubsub.publish(realm.name, publication.topic, envelope);
    if (publication.retain) {
      runtime.retainKv.put(retainedKey(realm.name, publication.topic), envelope).catch((error: unknown) => {
        runtime.logger.limited('cluster.retain_failed', { node: runtime.node.node, realm: realm.name, topic: publication.topic, error: String(error) });
      });
    }
  };
}
