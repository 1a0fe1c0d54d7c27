/**
 * Cross-node publish/subscribe over NATS subjects (design: shared/cluster-nats.md §3.3).
 *
 * Each WAMP subscription (realm, match, URI) with at least one local subscriber holds one NATS
 * subscription; NATS then copies a publication once to every node with a matching one, and that
 * node fans out to its own subscribers. A session subscribed exactly and by pattern to one topic
 * gets two EVENTs, as on one node, because each WAMP subscription has its own NATS subscription.
 * The data connection has `noEcho`, so a node never receives its own publications back: local
 * subscribers are served by the local broker, never through NATS.
 *
 * While NATS is unreachable, publications are dropped and counted, not queued: the NATS client
 * would buffer them without limit and replay a stale burst on reconnect.
 */

import type { NatsConnection, Subscription } from 'nats';
import type { MatchPolicy } from '../protocol/uri.js';
import { eventSubject, subscriptionSubject, type SubjectScheme } from './subjects.js';

export interface InterestKey {
  realm: string;
  uri: string;
  match: MatchPolicy;
}

/** A publication from another node for one local WAMP subscription. */
export type RemoteEventHandler = (interest: InterestKey, topic: string, envelope: Uint8Array) => void;

/** Reads the topic back out of an envelope, for the prefix filter (the subject is never decoded). */
export type TopicOf = (envelope: Uint8Array) => string | undefined;

interface Interest {
  key: InterestKey;
  subscription: Subscription;
  /** Local subscribers holding it. */
  holders: number;
  /** A string prefix that ends inside a component: the subject over-delivers, check each topic. */
  filter: boolean;
}

export class ClusterPubSub {
  private readonly interests = new Map<string, Interest>();
  private connected = true;
  /** Publications not sent because NATS was unreachable. */
  dropped = 0;
  /** Messages received for a prefix subscription that the string prefix then filtered out. */
  overDelivered = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly scheme: SubjectScheme,
    private readonly topicOf: TopicOf,
    private readonly onEvent: RemoteEventHandler,
  ) {
    void this.watchStatus();
  }

  /**
   * Holds interest in (realm, uri, match) for one more local subscriber. Resolves once the NATS
   * server has the subscription, so an event published elsewhere right after SUBSCRIBED arrives.
   */
  async hold(key: InterestKey): Promise<void> {
    const id = interestId(key);
    const existing = this.interests.get(id);
    if (existing !== undefined) {
      existing.holders++;
      return;
    }
    const { subject, filter } = subscriptionSubject(this.scheme, key.realm, key.uri, key.match);
    const interest: Interest = { key, holders: 1, filter, subscription: undefined as unknown as Subscription };
    interest.subscription = this.nc.subscribe(subject, { callback: (error, msg) => error === null && this.receive(interest, msg.data) });
    this.interests.set(id, interest);
    if (this.connected) await this.nc.flush();
  }

  /** One local subscriber fewer; the NATS subscription goes with the last one. */
  release(key: InterestKey): void {
    const id = interestId(key);
    const interest = this.interests.get(id);
    if (interest === undefined || --interest.holders > 0) return;
    this.interests.delete(id);
    interest.subscription.unsubscribe();
  }

  /** Sends a publication's envelope to the other nodes; false when it was dropped (NATS down). */
  publish(realm: string, topic: string, envelope: Uint8Array): boolean {
    if (!this.connected || this.nc.isClosed()) {
      this.dropped++;
      return false;
    }
    this.nc.publish(eventSubject(this.scheme, realm, topic), envelope);
    return true;
  }

  get interestCount(): number {
    return this.interests.size;
  }

  private receive(interest: Interest, envelope: Uint8Array): void {
    const topic = this.topicOf(envelope);
    if (topic === undefined) return;
    if (interest.filter && !topic.startsWith(interest.key.uri)) {
      this.overDelivered++;
      return;
    }
    this.onEvent(interest.key, topic, envelope);
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') this.connected = false;
      else if (status.type === 'reconnect') this.connected = true;
    }
  }
}

function interestId(key: InterestKey): string {
  return `${key.match}\u0000${key.realm}\u0000${key.uri}`;
}
