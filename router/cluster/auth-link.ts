/**
 * A realm's runtime authentication state shared by every node (issue 15 "Authentication state";
 * design: shared/cluster-nats.md §3.9). Each change (auth/auth-journal.ts) is a key in a
 * file-backed KV bucket that every node watches from the start:
 *
 *   <realm>.i.<authid>.<credential>   an issued credential (its PBKDF2 key, never the secret)
 *   <realm>.r.<authid>                 the authid's latest revocation mark ("not before")
 *   <realm>.b.<authid>                 a ban (deleted by unban)
 *   <realm>.k                          the key behind unknown authids' challenges, for realms that
 *                                      have no static secrets to derive one from
 *
 * A file bucket survives a NATS restart, and a watch replays every key's latest value, so a node
 * that was cut off when a user was revoked still applies the revocation when it is back. The realm
 * is the first token so one watch filter covers it (nats-server 2.9 has no multi-filter watch).
 *
 * A change is answered only once every other live node has applied it (`settle`): the writing node
 * asks them on the realm's auth subject whether their watch has reached the change's KV revision,
 * and they answer with the sessions they closed for it. So a credential issued on one node logs in
 * on any node at once, and `revoke` counts the sessions it ended everywhere. That needs a revision
 * for every change, which a KV delete does not return: a revoked credential and a lifted ban are
 * written as tombstone values instead (a delete of such a key is still read as the same change).
 */

import { randomBytes } from 'node:crypto';
import type { KV, KvEntry, Msg } from 'nats';
import type { Realm } from '../../realms/realm.js';
import { applyAuthEvent, type AuthEvent } from '../../auth/auth-journal.js';
import type { IssuedRecord } from '../../auth/issued.js';
import { askLivePeers } from './ask-peers.js';
import type { ClusterContext } from './context.js';
import { authSyncSubject, decodeToken, encodeToken } from './subjects.js';

/** Writes that failed (NATS unreachable) are retried this often, and at most this many are kept. */
const RETRY_MS = 1000;
const MAX_PENDING = 10_000;

export interface RealmAuthLink {
  detach(): void;
}

interface Write {
  key: string;
  value: unknown;
}

/** Sessions closed per applied revision, kept for this many revisions (answers to `settle`). */
const CLOSED_KEPT = 1024;

export async function attachAuth(runtime: ClusterContext, realm: Realm, kv: KV): Promise<RealmAuthLink> {
  const state = realm.sharedAuthState;
  const prefix = encodeToken(realm.name);
  const keyOf = (kind: string, authid: string, rest = '') => `${prefix}.${kind}.${encodeToken(authid)}${rest}`;

  if (state.unknownKeyIsRandom) {
    state.unknownKey = await sharedKey(kv, `${prefix}.k`);
    realm.rebuildAuth();
  }

  const pending: Write[] = [];
  /** Writes not yet acknowledged: sent again after a reconnect (a request sent meanwhile gets no answer). */
  const inFlight = new Set<Write>();
  /** This node's writes since the last `settle`, each resolving to its KV revision (none if it failed). */
  let unsettled: Promise<number | undefined>[] = [];
  let retryTimer: NodeJS.Timeout | undefined;
  const write = async (change: Write): Promise<number | undefined> => {
    inFlight.add(change);
    try {
      const revision = await kv.put(change.key, new TextEncoder().encode(JSON.stringify(change.value)));
      inFlight.delete(change);
      return revision;
    } catch (error) {
      if (!inFlight.delete(change)) return undefined; // already sent again after a reconnect
      // NATS unreachable: the change holds on this node now and reaches the others when NATS is back.
      if (pending.length < MAX_PENDING) pending.push(change);
      runtime.logger.limited('cluster.auth_write_failed', { node: runtime.node.node, realm: realm.name, key: change.key, error: String(error) });
      retryTimer ??= setTimeout(retry, RETRY_MS);
      return undefined;
    }
  };
  const retry = () => {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    for (const change of pending.splice(0)) void write(change);
  };
  const resend = () => {
    const unanswered = [...inFlight];
    inFlight.clear();
    for (const change of unanswered) void write(change);
  };

  // What this node's watch has applied: the other nodes' `settle` waits for a revision here.
  const applied = new AppliedRevisions(CLOSED_KEPT);
  const syncSubject = authSyncSubject(runtime.node.scheme, realm.name);
  const nc = runtime.node.data;
  const syncSubscription = nc.subscribe(syncSubject, { callback: (error, msg) => error === null && void answerSync(msg) });
  const answerSync = async (msg: Msg): Promise<void> => {
    let revisions: number[];
    try {
      revisions = (JSON.parse(new TextDecoder().decode(msg.data)) as { revisions: unknown }).revisions as number[];
      if (!Array.isArray(revisions) || !revisions.every(Number.isSafeInteger)) return;
    } catch {
      return; // not ours: no answer, the asker counts it as missing
    }
    const reached = await applied.reach(Math.max(0, ...revisions), runtime.config.metaTimeoutMs);
    if (reached) msg.respond(new TextEncoder().encode(JSON.stringify({ sessions: applied.closedAt(revisions) })));
  };

  state.journal = {
    record(event: AuthEvent) {
      for (const change of writesFor(event, keyOf)) unsettled.push(write(change));
    },
    async settle(): Promise<number> {
      const writes = unsettled;
      unsettled = [];
      // Cut off from NATS, a write waits for the reconnect: answer now, the change follows later.
      if (!runtime.connected) return 0;
      const written = await Promise.race([Promise.all(writes), delay(runtime.config.metaTimeoutMs * 2).then(() => [])]);
      const revisions = written.filter((r): r is number => r !== undefined);
      if (revisions.length === 0) return 0;
      const question = new TextEncoder().encode(JSON.stringify({ revisions }));
      const sessionsClosed = (data: Uint8Array) => Number((JSON.parse(new TextDecoder().decode(data)) as { sessions: unknown }).sessions) || 0;
      const { answers, expected, error } = await askLivePeers(runtime, syncSubject, question, runtime.config.metaTimeoutMs * 2, sessionsClosed);
      if (error !== undefined) runtime.logger.warn('cluster.auth_settle_failed', { node: runtime.node.node, realm: realm.name, error: String(error) });
      if (answers.length < expected) runtime.logger.limited('cluster.auth_settle_partial', { node: runtime.node.node, realm: realm.name, expected, answered: answers.length });
      return answers.reduce((sum, sessions) => sum + sessions, 0);
    },
  };

  // Follow the bucket from its start: every key's latest value first, then each change. After a
  // reconnect the watch is started again, so what happened while this node was cut off (or while
  // NATS restarted) is applied at once instead of when the old watch notices it is gone.
  let watch: Awaited<ReturnType<KV['watch']>> | undefined;
  const follow = async (): Promise<void> => {
    watch?.stop();
    let initialized!: () => void;
    const ready = new Promise<void>((resolve) => (initialized = resolve));
    const current = await kv.watch({ key: `${prefix}.>`, initializedFn: () => initialized() });
    watch = current;
    void (async () => {
      for await (const entry of current) {
        const event = eventOf(entry);
        const closed = event && applyAuthEvent(event, state.issued, state.revocations) ? realm.reverify() : 0;
        applied.applied(entry.revision, closed);
      }
    })().catch((error: unknown) => runtime.logger.error('cluster.auth_watch_failed', { node: runtime.node.node, realm: realm.name, error: String(error) }));
    await ready;
  };
  await follow();
  const stopFollowingReconnects = runtime.onReconnect(() => {
    resend();
    retry();
    follow().catch((error: unknown) => runtime.logger.error('cluster.auth_watch_failed', { node: runtime.node.node, realm: realm.name, error: String(error) }));
  });

  return {
    detach() {
      stopFollowingReconnects();
      syncSubscription.unsubscribe();
      applied.clear();
      watch?.stop();
      clearTimeout(retryTimer);
      state.journal = undefined;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The cluster's key for a realm: the first node to start creates it, the others read it. */
async function sharedKey(kv: KV, key: string): Promise<Buffer> {
  try {
    const created = randomBytes(32);
    await kv.create(key, created);
    return created;
  } catch {
    const existing = await kv.get(key);
    if (existing === null || existing.value.length !== 32) throw new Error(`cluster auth bucket: no usable ${key}`);
    return Buffer.from(existing.value);
  }
}

/** Tombstones: what a delete would say, as a value (a put returns its revision, a delete does not). */
const REVOKED_CREDENTIAL = { revoked: true };
const LIFTED_BAN = { banned: false };

function writesFor(event: AuthEvent, keyOf: (kind: string, authid: string, rest?: string) => string): Write[] {
  switch (event.kind) {
    case 'issued':
      return [{ key: keyOf('i', event.record.authid, `.${encodeToken(event.record.credentialId)}`), value: event.record }];
    case 'credential_revoked':
      return [{ key: keyOf('i', event.authid, `.${encodeToken(event.credentialId)}`), value: REVOKED_CREDENTIAL }];
    case 'revoked':
      return [{ key: keyOf('r', event.authid), value: { notBefore: event.notBefore } }];
    case 'banned':
      return [{ key: keyOf('b', event.authid), value: { notBefore: event.notBefore } }];
    case 'unbanned':
      return [{ key: keyOf('b', event.authid), value: LIFTED_BAN }];
  }
}

/**
 * The revisions this node's watch has applied, with the sessions each one closed, and the other
 * nodes' questions waiting for a revision not applied yet.
 */
class AppliedRevisions {
  private latest = 0;
  private readonly closed = new Map<number, number>();
  private readonly waiting = new Set<{ revision: number; done: (reached: boolean) => void }>();

  constructor(private readonly kept: number) {}

  applied(revision: number, closedSessions: number): void {
    this.latest = Math.max(this.latest, revision);
    if (closedSessions > 0) {
      this.closed.set(revision, closedSessions);
      if (this.closed.size > this.kept) this.closed.delete(this.closed.keys().next().value!);
    }
    for (const waiter of this.waiting) if (waiter.revision <= this.latest) waiter.done(true);
  }

  /** Resolves true once `revision` is applied, false after `timeoutMs` (the asker then counts a missing answer). */
  reach(revision: number, timeoutMs: number): Promise<boolean> {
    if (revision <= this.latest) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        revision,
        done: (reached: boolean) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiting.add(waiter);
    });
  }

  closedAt(revisions: number[]): number {
    return revisions.reduce((sum, revision) => sum + (this.closed.get(revision) ?? 0), 0);
  }

  clear(): void {
    for (const waiter of this.waiting) waiter.done(false);
  }
}

/** The change a watched key stands for; undefined for anything malformed (never trusted blindly). */
function eventOf(entry: KvEntry): AuthEvent | undefined {
  const [, kind, authidToken, credentialToken] = entry.key.split('.');
  if (authidToken === undefined) return undefined;
  const authid = decodeToken(authidToken);
  const removed = entry.operation !== 'PUT';
  let value: Record<string, unknown> = {};
  if (!removed) {
    try {
      value = entry.json<Record<string, unknown>>();
    } catch {
      return undefined;
    }
  }
  const notBefore = typeof value.notBefore === 'number' ? value.notBefore : undefined;
  switch (kind) {
    case 'i': {
      if (credentialToken === undefined) return undefined;
      const credentialId = decodeToken(credentialToken);
      if (removed || value.revoked === true) return { kind: 'credential_revoked', authid, credentialId };
      return isIssuedRecord(value, authid, credentialId) ? { kind: 'issued', record: value } : undefined;
    }
    case 'r':
      return removed || notBefore === undefined ? undefined : { kind: 'revoked', authid, notBefore };
    case 'b':
      if (removed || value.banned === false) return { kind: 'unbanned', authid };
      return notBefore === undefined ? undefined : { kind: 'banned', authid, notBefore };
    default:
      return undefined;
  }
}

function isIssuedRecord(value: Record<string, unknown>, authid: string, credentialId: string): value is IssuedRecord & Record<string, unknown> {
  return value.authid === authid && value.credentialId === credentialId && typeof value.role === 'string' && typeof value.key === 'string'
    && typeof value.salt === 'string' && typeof value.expiresAt === 'number' && typeof value.mintedAt === 'number';
}
