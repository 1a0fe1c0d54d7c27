/**
 * `wamp.subscription.*` across nodes (design: shared/cluster-nats.md §3.7): subscriptions live in
 * each node's broker and in NATS interest, not in KV, so the subscription meta API asks the other
 * nodes on the realm's meta channel (meta-link.ts) and merges their answers with its own
 * (realms/meta/subscription-meta.ts). Its events travel as meta-link notices.
 */

import type { NodeSubscriptions, SubscriptionInfo, SubscriptionMeta, SubscriptionQuery } from '../../realms/meta/subscription-meta.js';
import { isMatchPolicy } from '../protocol/uri.js';
import type { MetaChannel } from './meta-channel.js';

/** Which of its subscriptions another node asks about, and whether with their subscribers' session IDs. */
export interface SubscriptionQuestion {
  op: 'subscriptions';
  query: SubscriptionQuery;
  subscribers: boolean;
}

export function isSubscriptionQuestion(message: { op: string }): message is SubscriptionQuestion {
  return message.op === 'subscriptions' && parseQuery((message as Partial<SubscriptionQuestion>).query) !== undefined;
}

/** Only the fields of one kind of query: the broker is asked exactly what the asker meant. */
function parseQuery(value: unknown): SubscriptionQuery | undefined {
  const q = value as Record<string, unknown> | null | undefined;
  if (typeof q !== 'object' || q === null) return undefined;
  if (q.all === true) return { all: true };
  if (typeof q.id === 'number') return { id: q.id };
  if (typeof q.topic === 'string') return { topic: q.topic };
  if (typeof q.uri === 'string' && isMatchPolicy(q.match)) return { uri: q.uri, match: q.match };
  return undefined;
}

function isSubscriptionInfo(value: unknown): value is SubscriptionInfo {
  const v = value as Partial<SubscriptionInfo> | null | undefined;
  return typeof v === 'object' && v !== null && typeof v.id === 'number' && typeof v.uri === 'string' && isMatchPolicy(v.match)
    && typeof v.created === 'string' && typeof v.count === 'number' && (v.subscribers === undefined || Array.isArray(v.subscribers));
}

function isNodeSubscriptions(value: unknown): value is NodeSubscriptions {
  const v = value as Partial<NodeSubscriptions> | null | undefined;
  return typeof v === 'object' && v !== null && typeof v.node === 'string' && Array.isArray(v.subscriptions) && v.subscriptions.every(isSubscriptionInfo);
}

export interface SubscriptionMetaLink {
  /** This node's answer to another node's question. */
  answer(question: SubscriptionQuestion): NodeSubscriptions;
  detach(): void;
}

export function linkSubscriptionMeta(channel: MetaChannel, meta: SubscriptionMeta): SubscriptionMetaLink {
  meta.remote = {
    node: channel.node,
    async ask(query, subscribers) {
      const answers = await channel.ask({ op: 'subscriptions', query, subscribers } satisfies SubscriptionQuestion);
      return answers.filter(isNodeSubscriptions);
    },
    raised: (topic, uri, args) => channel.raised('subscription', topic, uri, args),
  };
  return {
    answer: (question) => ({ node: channel.node, subscriptions: meta.answer(parseQuery(question.query)!, question.subscribers === true) }),
    detach() {
      meta.remote = undefined;
    },
  };
}
