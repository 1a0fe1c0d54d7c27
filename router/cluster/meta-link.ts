/**
 * The meta API across nodes (design: shared/cluster-nats.md §3.7), on one subject per realm.
 *
 * Questions: there is no cluster-wide session or subscription directory on purpose (a KV write per
 * join, leave or SUBSCRIBE would make every one of them pay for a rare meta call). Instead
 * `wamp.session.count/list/get/kill*` and `wamp.subscription.*` ask every other live node on the
 * realm's meta subject and wait for their answers (at most `metaTimeoutMs`); each node answers from
 * its own sessions and subscriptions. A node that does not answer in time makes the answer partial:
 * logged and counted.
 *
 * Notices: `wamp.session.on_join` and the registration and subscription meta events raised on one
 * node are told to the others on the same subject, and each node publishes them to its own
 * subscribers with its own permission and visibility checks (a role's rights are decided where its
 * session is). `wamp.registration.on_delete`, and on_unregister for a dead node's callees, are
 * raised by the node the registry names ({@link RealmMetaLink.registryChanged}).
 */

import type { Msg, Subscription } from 'nats';
import type { Realm } from '../../realms/realm.js';
import type { MetaAnswer, MetaRequest, SessionInfo } from '../../realms/meta/session-meta.js';
import { RegistrationEvents } from '../../realms/meta/registration-meta.js';
import { SubscriptionMeta } from '../../realms/meta/subscription-meta.js';
import type { MetaKind } from '../../realms/meta/visibility.js';
import { askLivePeers } from './ask-peers.js';
import type { ClusterContext } from './context.js';
import { clusterCbor } from './envelope.js';
import type { Claim, ClusterCallee } from './registry.js';
import { metaSubject } from './subjects.js';
import type { MetaChannel } from './meta-channel.js';
import { isSubscriptionQuestion, linkSubscriptionMeta, type SubscriptionQuestion } from './subscription-meta-link.js';

// The events' CBOR options: binary and big integers in authextra survive the trip.
const { encode, decode } = clusterCbor;

/** Not a question: a session joined on the sending node (wamp.session.on_join everywhere). */
interface JoinedNotice {
  op: 'joined';
  info: SessionInfo;
}

/** Not a question: a registration or subscription meta event raised on the sending node. */
interface RaisedNotice {
  op: 'raised';
  kind: MetaKind;
  topic: string;
  uri: string;
  args: unknown[];
}

type MetaMessage = MetaRequest | SubscriptionQuestion | JoinedNotice | RaisedNotice;


const EVENTS: Record<MetaKind, Set<string>> = {
  registration: new Set(['on_create', 'on_register', 'on_unregister', 'on_delete'].map((e) => `wamp.registration.${e}`)),
  subscription: new Set(['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete'].map((e) => `wamp.subscription.${e}`)),
};

function isSessionInfo(value: unknown): value is SessionInfo {
  const v = value as Partial<SessionInfo> | undefined;
  return typeof v === 'object' && v !== null && typeof v.session === 'number' && typeof v.authid === 'string' && typeof v.authrole === 'string';
}

function isRaisedNotice(value: RaisedNotice): boolean {
  return (value.kind === 'registration' || value.kind === 'subscription') && EVENTS[value.kind].has(value.topic)
    && typeof value.uri === 'string' && Array.isArray(value.args);
}

export interface RealmMetaLink {
  detach(): void;
  /** Answers that did not arrive in time, since start. */
  readonly partialAnswers: number;
  /** A key of the registration table changed (already applied to runtime.view). */
  registryChanged(key: string): void;
}

export function attachMeta(runtime: ClusterContext, realm: Realm): RealmMetaLink {
  const subject = metaSubject(runtime.node.scheme, realm.name);
  const nc = runtime.node.data;
  let partialAnswers = 0;
  // The broker's and dealer's observers are the subscription meta API and the registration events.
  const subscriptions = realm.broker.observer instanceof SubscriptionMeta ? realm.broker.observer : undefined;
  const registrations = realm.dealer.observer instanceof RegistrationEvents ? realm.dealer.observer : undefined;

  const channel: MetaChannel = {
    node: runtime.node.node,
    async ask(request) {
      const { answers, expected, error } = await askLivePeers(runtime, subject, encode(request), runtime.config.metaTimeoutMs, decode);
      if (error !== undefined) {
        runtime.logger.warn('cluster.meta_failed', { node: runtime.node.node, realm: realm.name, op: request.op, error: String(error) });
      }
      if (answers.length < expected) {
        partialAnswers++;
        runtime.logger.limited('cluster.meta_partial', { node: runtime.node.node, realm: realm.name, op: request.op, expected, answered: answers.length });
      }
      return answers;
    },
    tell(notice) {
      // Called from inside the broker and dealer (a session leaving, …): it must never throw there.
      if (!runtime.connected || nc.isClosed()) return;
      try {
        nc.publish(subject, encode(notice));
      } catch (error) {
        runtime.logger.limited('cluster.meta_notice_failed', { node: runtime.node.node, realm: realm.name, op: notice.op, error: String(error) });
      }
    },
    raised(kind, topic, uri, args) {
      channel.tell({ op: 'raised', kind, topic, uri, args } satisfies RaisedNotice);
    },
  };

  const subscriptionLink = subscriptions && linkSubscriptionMeta(channel, subscriptions);
  if (registrations) {
    registrations.remote = { raised: (topic, uri, args) => channel.raised('registration', topic, uri, args) };
  }
  realm.meta.remote = {
    joined: (info) => channel.tell({ op: 'joined', info } satisfies JoinedNotice),
    ask: (request) => channel.ask(request) as Promise<MetaAnswer[]>,
  };

  function receive(msg: Msg): void {
    let message: MetaMessage;
    try {
      message = decode(msg.data) as MetaMessage;
    } catch {
      return; // not a meta message of ours: no answer, the asker counts it as missing
    }
    if (typeof message !== 'object' || message === null) return;
    switch (message.op) {
      case 'joined':
        if (isSessionInfo(message.info)) realm.meta.joinedElsewhere(message.info);
        return;
      case 'raised':
        if (!isRaisedNotice(message)) return;
        (message.kind === 'registration' ? registrations : subscriptions)?.raisedElsewhere(message.topic, message.uri, message.args);
        return;
      case 'subscriptions':
        if (subscriptionLink && isSubscriptionQuestion(message)) msg.respond(encode(subscriptionLink.answer(message)));
        return;
      default:
        msg.respond(encode(realm.meta.answer(message)));
    }
  }

  const subscription: Subscription = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error === null) receive(msg);
    },
  });

  return {
    detach() {
      subscription.unsubscribe();
      realm.meta.remote = undefined;
      subscriptionLink?.detach();
      if (registrations) registrations.remote = undefined;
    },
    get partialAnswers() {
      return partialAnswers;
    },
    registryChanged: registrations ? registryEvents(runtime, realm, registrations) : () => undefined,
  };
}

/**
 * The registration events the cluster's registry decides, raised once for the cluster. on_delete:
 * when a registration of the realm leaves the registry (deleted, or taken over under a new id
 * after its callees' node died), by the node of the callee whose removal emptied it, or by the
 * janitor when that callee's node is dead. on_unregister of a dead node's callees (their node
 * cannot say it any more): by the janitor that sees them go. The registrations last seen are kept
 * by reference, to know what a changed key held.
 */
function registryEvents(runtime: ClusterContext, realm: Realm, events: RegistrationEvents): (key: string) => void {
  const seen = new Map<string, Claim>();
  const { node } = runtime;
  for (const key of [node.node, ...node.membership.alivePeers().map((p) => p.node)].flatMap((n) => runtime.view.keysWithNode(n))) {
    const claim = runtime.view.claimAt(key);
    if (claim?.realm === realm.name) seen.set(key, claim);
  }
  const live = (c: ClusterCallee) => (c.node === node.node ? c.incarnation === node.incarnation : node.membership.liveIncarnation(c.node) === c.incarnation);
  const same = (a: ClusterCallee) => (b: ClusterCallee) => a.node === b.node && a.session === b.session && a.incarnation === b.incarnation;
  return (key) => {
    const claim = runtime.view.claimAt(key);
    const before = seen.get(key);
    if (claim !== undefined && claim.realm === realm.name) seen.set(key, claim);
    else seen.delete(key);
    if (before === undefined) return;
    const registration = { id: before.regId, uri: before.uri };
    const kept = claim?.regId === before.regId ? claim.callees : [];
    const gone = before.callees.filter((c) => !kept.some(same(c)) && !live(c));
    if (gone.length > 0 && node.membership.isJanitor()) for (const c of gone) events.changedInCluster('on_unregister', c.session, registration);
    if (claim?.regId === before.regId) return;
    const last = before.callees[0];
    if (last === undefined) return;
    // A key the view dropped while this node's callee is still registered (NATS lost the bucket) is
    // being put back, not deleted.
    const left = last.node === node.node && !realm.dealer.getRegistration(before.regId)?.callees.some((c) => !c.mirrored && c.session.id === last.session);
    if (live(last) ? left : node.membership.isJanitor()) events.changedInCluster('on_delete', last.session, registration);
  };
}
