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
 */

import { randomBytes } from 'node:crypto';
import type { KV, KvEntry } from 'nats';
import type { Realm } from '../../realms/realm.js';
import { applyAuthEvent, type AuthEvent } from '../../auth/auth-journal.js';
import type { IssuedRecord } from '../../auth/issued.js';
import type { ClusterRuntime } from './index.js';
import { decodeToken, encodeToken } from './subjects.js';

/** Writes that failed (NATS unreachable) are retried this often, and at most this many are kept. */
const RETRY_MS = 1000;
const MAX_PENDING = 10_000;

export interface RealmAuthLink {
  detach(): void;
}

type Write = { op: 'put'; key: string; value: unknown } | { op: 'delete'; key: string };

export async function attachAuth(runtime: ClusterRuntime, realm: Realm, kv: KV): Promise<RealmAuthLink> {
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
  let retryTimer: NodeJS.Timeout | undefined;
  const write = async (change: Write): Promise<void> => {
    inFlight.add(change);
    try {
      if (change.op === 'put') await kv.put(change.key, new TextEncoder().encode(JSON.stringify(change.value)));
      else await kv.delete(change.key);
      inFlight.delete(change);
    } catch (error) {
      if (!inFlight.delete(change)) return; // already sent again after a reconnect
      // NATS unreachable: the change holds on this node now and reaches the others when NATS is back.
      if (pending.length < MAX_PENDING) pending.push(change);
      runtime.logger.limited('cluster.auth_write_failed', { node: runtime.node.node, realm: realm.name, key: change.key, error: String(error) });
      retryTimer ??= setTimeout(retry, RETRY_MS);
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

  state.journal = {
    record(event: AuthEvent) {
      for (const change of writesFor(event, keyOf)) void write(change);
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
        if (event && applyAuthEvent(event, state.issued, state.revocations)) realm.reverify();
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
      watch?.stop();
      clearTimeout(retryTimer);
      state.journal = undefined;
    },
  };
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

function writesFor(event: AuthEvent, keyOf: (kind: string, authid: string, rest?: string) => string): Write[] {
  switch (event.kind) {
    case 'issued':
      return [{ op: 'put', key: keyOf('i', event.record.authid, `.${encodeToken(event.record.credentialId)}`), value: event.record }];
    case 'credential_revoked':
      return [{ op: 'delete', key: keyOf('i', event.authid, `.${encodeToken(event.credentialId)}`) }];
    case 'revoked':
      return [{ op: 'put', key: keyOf('r', event.authid), value: { notBefore: event.notBefore } }];
    case 'banned':
      return [{ op: 'put', key: keyOf('b', event.authid), value: { notBefore: event.notBefore } }];
    case 'unbanned':
      return [{ op: 'delete', key: keyOf('b', event.authid) }];
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
      if (removed) return { kind: 'credential_revoked', authid, credentialId };
      return isIssuedRecord(value, authid, credentialId) ? { kind: 'issued', record: value } : undefined;
    }
    case 'r':
      return removed || notBefore === undefined ? undefined : { kind: 'revoked', authid, notBefore };
    case 'b':
      if (removed) return { kind: 'unbanned', authid };
      return notBefore === undefined ? undefined : { kind: 'banned', authid, notBefore };
    default:
      return undefined;
  }
}

function isIssuedRecord(value: Record<string, unknown>, authid: string, credentialId: string): value is IssuedRecord & Record<string, unknown> {
  return value.authid === authid && value.credentialId === credentialId && typeof value.role === 'string' && typeof value.key === 'string'
    && typeof value.salt === 'string' && typeof value.expiresAt === 'number' && typeof value.mintedAt === 'number';
}
