/**
 * One question to every other live node on a subject, as NATS scatter-gather: the answers that
 * arrive within `maxWait`. Shared by the meta API (meta-link.ts) and settled auth changes
 * (auth-link.ts); each decides how to log and count a missing answer.
 */

import { RequestStrategy } from 'nats';
import type { ClusterContext } from './context.js';

export interface PeerAnswers<T> {
  answers: T[];
  /** How many live peers were asked (0 while NATS is unreachable). */
  expected: number;
  /** Why gathering stopped early (the answers so far are kept). */
  error?: unknown;
}

export async function askLivePeers<T>(runtime: ClusterContext, subject: string, question: Uint8Array, maxWait: number, decode: (data: Uint8Array) => T): Promise<PeerAnswers<T>> {
  const answers: T[] = [];
  // Cut off from NATS nobody can be asked: no answer is missing, there is just none (not partial).
  if (!runtime.connected) return { answers, expected: 0 };
  const expected = runtime.node.membership.alivePeers().length;
  if (expected === 0) return { answers, expected };
  try {
    const replies = await runtime.node.data.requestMany(subject, question, { strategy: RequestStrategy.Count, maxMessages: expected, maxWait });
    for await (const reply of replies) {
      if (reply.data.length === 0) continue; // a no-responders status, not an answer
      answers.push(decode(reply.data));
    }
  } catch (error) {
    return { answers, expected, error };
  }
  return { answers, expected };
}
