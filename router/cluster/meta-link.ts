/**
 * The session meta API across nodes (design: shared/cluster-nats.md §3.7). There is no cluster-wide
 * session directory on purpose: a KV write per join and leave would make every login pay for a rare
 * meta call. Instead `wamp.session.count/list/get/kill*` ask every other live node on the realm's
 * meta subject and wait for their answers (at most `metaTimeoutMs`); each node answers from its own
 * sessions. A node that does not answer in time makes the answer partial: logged and counted.
 */

import { RequestStrategy, type Msg, type Subscription } from 'nats';
import type { Realm } from '../../realms/realm.js';
import type { MetaAnswer, MetaRequest, SessionInfo } from '../../realms/meta/session-meta.js';
import type { ClusterRuntime } from './index.js';
import { clusterCbor } from './envelope.js';
import { metaSubject } from './subjects.js';

// The events' CBOR options: binary and big integers in authextra survive the trip.
const { encode, decode } = clusterCbor;

/** Not a question: a session joined on the sending node (wamp.session.on_join everywhere). */
interface JoinedNotice {
  op: 'joined';
  info: SessionInfo;
}

function isSessionInfo(value: unknown): value is SessionInfo {
  const v = value as Partial<SessionInfo> | undefined;
  return typeof v === 'object' && v !== null && typeof v.session === 'number' && typeof v.authid === 'string' && typeof v.authrole === 'string';
}

export interface RealmMetaLink {
  detach(): void;
  /** Answers that did not arrive in time, since start. */
  readonly partialAnswers: number;
}

export function attachMeta(runtime: ClusterRuntime, realm: Realm): RealmMetaLink {
  const subject = metaSubject(runtime.node.scheme, realm.name);
  const nc = runtime.node.data;
  let partialAnswers = 0;

  const subscription: Subscription = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error === null) answer(msg);
    },
  });

  function answer(msg: Msg): void {
    let request: MetaRequest | JoinedNotice;
    try {
      request = decode(msg.data) as MetaRequest | JoinedNotice;
    } catch {
      return; // not a meta request of ours: no answer, the asker counts it as missing
    }
    if (request.op === 'joined') {
      if (isSessionInfo(request.info)) realm.meta.joinedElsewhere(request.info);
      return;
    }
    msg.respond(encode(realm.meta.answer(request)));
  }

  realm.meta.remote = {
    joined(info: SessionInfo): void {
      if (runtime.connected) nc.publish(subject, encode({ op: 'joined', info } satisfies JoinedNotice));
    },
    async ask(request: MetaRequest): Promise<MetaAnswer[]> {
      const expected = runtime.node.membership.alivePeers().length;
      if (expected === 0 || !runtime.connected) return [];
      const answers: MetaAnswer[] = [];
      try {
        const replies = await nc.requestMany(subject, encode(request), {
          strategy: RequestStrategy.Count, maxMessages: expected, maxWait: runtime.config.metaTimeoutMs,
        });
        for await (const reply of replies) {
          if (reply.data.length === 0) continue; // a no-responders status, not an answer
          answers.push(decode(reply.data) as MetaAnswer);
        }
      } catch (error) {
        runtime.logger.warn('cluster.meta_failed', { node: runtime.node.node, realm: realm.name, op: request.op, error: String(error) });
      }
      if (answers.length < expected) {
        partialAnswers++;
        runtime.logger.limited('cluster.meta_partial', { node: runtime.node.node, realm: realm.name, op: request.op, expected, answered: answers.length });
      }
      return answers;
    },
  };

  return {
    detach() {
      subscription.unsubscribe();
      realm.meta.remote = undefined;
    },
    get partialAnswers() {
      return partialAnswers;
    },
  };
}
