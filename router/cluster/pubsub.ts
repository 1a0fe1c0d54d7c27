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
 *
 * What arrives is decoded here, once per message, and checked (envelope.ts): a message that is not
 * a well-formed envelope of the subscription's realm is dropped and counted, never delivered.
 */

import type { NatsConnection, Subscription } from 'nats';
import type { MaybePromise } from '../maybe-async.js';
import type { MatchPolicy } from '../protocol/uri.js';
import { decodeEnvelope, type EventEnvelope } from './envelope.js';
import { eventSubject, subscriptionSubject, type SubjectScheme } from './subjects.js';

/**
 * The NATS server refuses a protocol line over 4 KB and drops the connection that sent it; an
 * encoded URI can be several times its length (a 4-byte character becomes 12), so longer event
 * subjects are neither subscribed nor published (design §3.2 `maxSubjectBytes`, its default).
 */
export const MAX_SUBJECT_BYTES = 1024;

export interface InterestKey {
  realm: string;
  uri: string;
  match: MatchPolicy;
}

/** A publication from another node for one local WAMP subscription. */
export type RemoteEventHandler = (interest: InterestKey, event: EventEnvelope) => void;

interface Interest {
  key: InterestKey;
  subscription: Subscription | undefined;
  /** Local subscribers holding it. */
  holders: number;
  /** Until the server has the subscription (a flush): later holders wait for it too. */
  ready: Promise<void> | undefined;
  /** A string prefix that ends inside a component: the subject over-delivers, check each topic. */
  filter: boolean;
}

export class ClusterPubSub {
  private readonly interests = new Map<string, Interest>();
  private connected = true;
  /** Publications sent to the other nodes, and messages from them handed to a broker. */
  sent = 0;
  received = 0;
  /** Publications not sent because NATS was unreachable. */
  dropped = 0;
  /** Messages received for a prefix subscription that the string prefix then filtered out. */
  overDelivered = 0;
  /** Messages that were not a well-formed envelope of the subscription's realm. */
  malformed = 0;
  /** Subscriptions and publications whose subject would be too long for NATS. */
  tooLong = 0;
  /** Publications the link did not send: envelope over the size limit or not encodable. */
  refused = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly scheme: SubjectScheme,
    private readonly onEvent: RemoteEventHandler,
  ) {
    void this.watchStatus();
  }

  /**
   * Holds interest in (realm, uri, match) for one more local subscriber. Resolves once the NATS
   * server has the subscription, so an event published elsewhere right after SUBSCRIBED arrives.
   */
  hold(key: InterestKey): MaybePromise<void> {
    const id = interestId(key);
    const existing = this.interests.get(id);
    if (existing !== undefined) {
      existing.holders++;
      return existing.ready;
    }
    const { subject, filter } = subscriptionSubject(this.scheme, key.realm, key.uri, key.match);
    // Counted like any holder, so release() stays symmetric; it just never hears of other nodes.
    const tooLong = Buffer.byteLength(subject) > MAX_SUBJECT_BYTES;
    if (tooLong) this.tooLong++;
    const interest: Interest = { key, holders: 1, filter, ready: undefined, subscription: undefined };
    this.interests.set(id, interest);
    if (tooLong || this.nc.isClosed()) return;
    interest.subscription = this.nc.subscribe(subject, { callback: (error, msg) => error === null && this.receive(interest, msg.data) });
    if (!this.connected) return;
    interest.ready = this.nc.flush().catch(() => undefined).finally(() => (interest.ready = undefined));
    return interest.ready;
  }

  /** One local subscriber fewer; the NATS subscription goes with the last one. */
  release(key: InterestKey): void {
    const id = interestId(key);
    const interest = this.interests.get(id);
    if (interest === undefined || --interest.holders > 0) return;
    this.interests.delete(id);
    interest.subscription?.unsubscribe();
  }

  /** Gives up every interest of `realm` (its link detaches). */
  releaseRealm(realm: string): void {
    for (const [id, interest] of this.interests) {
      if (interest.key.realm !== realm) continue;
      this.interests.delete(id);
      interest.subscription?.unsubscribe();
    }
  }

  /** Sends a publication's envelope to the other nodes; false when it was dropped (NATS down). */
  publish(realm: string, topic: string, envelope: Uint8Array): boolean {
    if (!this.connected || this.nc.isClosed()) {
      this.dropped++;
      return false;
    }
    const subject = eventSubject(this.scheme, realm, topic);
    if (Buffer.byteLength(subject) > MAX_SUBJECT_BYTES) {
      this.tooLong++;
      return false;
    }
    try {
      this.nc.publish(subject, envelope);
      this.sent++;
    } catch {
      // Closed between the check and the call, or over the server's max_payload.
      this.dropped++;
      return false;
    }
    return true;
  }

  get interestCount(): number {
    return this.interests.size;
  }

  private receive(interest: Interest, data: Uint8Array): void {
    const event = decodeEnvelope(data);
    if (event === undefined || event.realm !== interest.key.realm) {
      this.malformed++;
      return;
    }
    if (interest.filter && !event.topic.startsWith(interest.key.uri)) {
      this.overDelivered++;
      return;
    }
    this.received++;
    this.onEvent(interest.key, event);
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
