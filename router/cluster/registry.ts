/**
 * The cluster's registration table in a JetStream KV bucket (design: shared/cluster-nats.md §3.4,
 * changed as noted below), and every node's in-memory view of it.
 *
 * One key per (realm, match, URI) holds the whole registration: its id, invocation policy and the
 * ordered list of callees (node, incarnation, session). Every change is a compare-and-set on that
 * one key. The design note kept callees under separate keys; with them, a node that takes over an
 * empty `single` claim can race a callee joining on another node (the join's entry lands after the
 * takeover read the empty list) and both end up registered. With the callees inside the claim, the
 * CAS serializes joins, leaves and takeovers, `single` holds, and `first`/`last` follow one order
 * that every node sees. The price is a larger value for widely shared registrations (about 80 bytes
 * per callee: ~10,000 callees fit the default 1 MiB NATS payload) and CAS retries when many callees
 * join one URI at once.
 *
 * Calls never touch the bucket: every node watches it into a {@link RegistryView} and routes from
 * memory. Only REGISTER, UNREGISTER and cleanup after a dead node write.
 */

import { randomInt } from 'node:crypto';
import type { KV, KvEntry, QueuedIterator } from 'nats';
import { UriIndex } from '../matching/uri-index.js';
import type { MatchPolicy } from '../protocol/uri.js';
import { ErrorUri, WampError } from '../protocol/errors.js';
import { encodeToken } from './subjects.js';

export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

export interface ClusterCallee {
  node: string;
  incarnation: string;
  session: number;
  concurrency: number;
  discloseCaller: boolean;
  /** The callee session's authid and authrole: other nodes authorize pattern calls to it with them. */
  authid?: string;
  authrole?: string;
  /** The callee features other nodes' dealers ask about (progressive_call_results, call_canceling, …). */
  features?: string[];
}

export interface Claim {
  regId: number;
  realm: string;
  uri: string;
  match: MatchPolicy;
  invoke: InvokePolicy;
  created: string;
  /** In join order: `first` is callees[0], `last` the end. */
  callees: ClusterCallee[];
}

/**
 * Whether a callee's node is alive with the incarnation the entry was made by (membership.ts); for
 * the store, which drops and takes over only what is known to be dead: whether it may still be.
 */
export type CalleeLiveness = (callee: ClusterCallee) => boolean;

const MATCH_CODE: Record<MatchPolicy, string> = { exact: 'x', prefix: 'p', wildcard: 'w' };
/** CAS attempts before a REGISTER/UNREGISTER gives up (contention on one URI, or KV trouble). */
const MAX_ATTEMPTS = 20;

/**
 * `c.<realm>.<x|p|w>.<components>`; an empty component (wildcard position, trailing dot of a
 * prefix, the empty prefix) is `=`, which {@link encodeToken} never produces on its own.
 */
export function claimKey(realm: string, uri: string, match: MatchPolicy): string {
  const components = uri.split('.').map((c) => (c === '' ? '=' : encodeToken(c)));
  return `c.${encodeToken(realm)}.${MATCH_CODE[match]}.${components.join('.')}`;
}

function decodeClaim(entry: KvEntry): Claim | undefined {
  if (entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
  return entry.json<Claim>();
}

function encodeClaim(claim: Claim): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(claim));
}

function isCasConflict(error: unknown): boolean {
  return /wrong last sequence/i.test((error as Error)?.message ?? '');
}

/** After a lost CAS: wait a little, longer each time, so contending nodes stop colliding in step. */
function backoff(attempt: number): Promise<void> {
  return attempt < 2 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, randomInt(0, 2 ** Math.min(attempt, 6))));
}

function newRegistrationId(): number {
  return randomInt(1, 2 ** 48);
}

export interface JoinResult {
  claim: Claim;
  /** True when this join created the registration (the meta API's `on_create`). */
  created: boolean;
}

export class RegistryStore {
  constructor(
    private readonly kv: KV,
    private readonly isLive: CalleeLiveness,
  ) {}

  /** The stored registration under `key`, read from the bucket itself (not from a watch). */
  async read(key: string): Promise<KvEntry | null> {
    return this.kv.get(key);
  }

  /** Adds a callee to the registration of (realm, uri, match), creating or taking it over if needed. */
  async join(realm: string, uri: string, match: MatchPolicy, invoke: InvokePolicy, callee: ClusterCallee): Promise<JoinResult> {
    const key = claimKey(realm, uri, match);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(key);
      const existing = entry === null ? undefined : decodeClaim(entry);
      const live = existing?.callees.filter(this.isLive) ?? [];
      try {
        if (existing === undefined || live.length === 0) {
          // A new registration, or one whose callees all died with their nodes: take it over.
          const claim: Claim = { regId: newRegistrationId(), realm, uri, match, invoke, created: new Date().toISOString(), callees: [callee] };
          if (entry === null) await this.kv.create(key, encodeClaim(claim));
          else await this.kv.update(key, encodeClaim(claim), entry.revision);
          return { claim, created: true };
        }
        if (existing.invoke === 'single') throw new WampError(ErrorUri.procedureAlreadyExists, 'procedure already registered with invoke "single"');
        if (existing.invoke !== invoke) {
          throw new WampError(ErrorUri.procedureExistsWithDifferentInvocationPolicy, `procedure already registered with invoke "${existing.invoke}"`);
        }
        const claim: Claim = { ...existing, callees: [...live, callee] };
        await this.kv.update(key, encodeClaim(claim), entry!.revision);
        return { claim, created: false };
      } catch (error) {
        if (!isCasConflict(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new WampError(ErrorUri.networkFailure, 'the cluster registry is busy: try again');
  }

  /**
   * Removes the callees `drop` selects from one registration; deletes the registration when none is
   * left. Returns the claim as it was before, or undefined when it did not exist or nothing matched.
   */
  async remove(key: string, drop: (callee: ClusterCallee) => boolean): Promise<{ before: Claim; after: Claim | undefined } | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(key);
      const before = entry === null ? undefined : decodeClaim(entry);
      if (before === undefined) return undefined;
      const callees = before.callees.filter((callee) => !drop(callee));
      if (callees.length === before.callees.length) return undefined;
      try {
        if (callees.length === 0) {
          await this.kv.delete(key, { previousSeq: entry!.revision });
          return { before, after: undefined };
        }
        const after = { ...before, callees };
        await this.kv.update(key, encodeClaim(after), entry!.revision);
        return { before, after };
      } catch (error) {
        if (!isCasConflict(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new WampError(ErrorUri.networkFailure, 'the cluster registry is busy: try again');
  }

  /**
   * Puts this node's callees of one registration back after an outage (design §3.6 "Reconnect"):
   * into the registration with the same id, or re-creating it under that id when the key is empty
   * (NATS lost the bucket, or peers purged this node while it was cut off). Other callees listed
   * there stay, live or not: right after a reconnect this node may not have heard its peers yet,
   * and the janitor's sweep removes the dead ones. A registration of the URI under another id
   * that lists any other node's callee was written first (the lower revision) and wins: 'lost'.
   */
  async reassert(registration: Omit<Claim, 'callees'>, own: ClusterCallee[]): Promise<'kept' | 'lost'> {
    const key = claimKey(registration.realm, registration.uri, registration.match);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(key);
      const existing = entry === null ? undefined : decodeClaim(entry);
      try {
        if (existing !== undefined && existing.regId === registration.regId) {
          const missing = own.filter((o) => !existing.callees.some((c) => c.node === o.node && c.session === o.session && c.incarnation === o.incarnation));
          if (missing.length === 0) return 'kept';
          // An older entry of the same session (a previous incarnation) makes way for the current one.
          const kept = existing.callees.filter((c) => !missing.some((o) => o.node === c.node && o.session === c.session));
          await this.kv.update(key, encodeClaim({ ...existing, callees: [...kept, ...missing] }), entry!.revision);
          return 'kept';
        }
        if (existing !== undefined && existing.callees.some((c) => c.node !== own[0]?.node)) return 'lost';
        const claim: Claim = { ...registration, callees: own };
        if (entry === null) await this.kv.create(key, encodeClaim(claim));
        else await this.kv.update(key, encodeClaim(claim), entry.revision);
        return 'kept';
      } catch (error) {
        if (!isCasConflict(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new WampError(ErrorUri.networkFailure, 'the cluster registry is busy: try again');
  }

  /** One callee leaves (UNREGISTER, or its session ended). */
  leave(realm: string, uri: string, match: MatchPolicy, node: string, session: number): ReturnType<RegistryStore['remove']> {
    return this.remove(claimKey(realm, uri, match), (c) => c.node === node && c.session === session);
  }
}

/** A node's in-memory copy of the bucket, indexed like the single-node dealer's registrations. */
export class RegistryView {
  private readonly byKey = new Map<string, Claim>();
  private readonly realms = new Map<string, UriIndex<Claim>>();

  constructor(readonly isLive: CalleeLiveness) {}

  /** Applies one watched KV change. */
  apply(entry: KvEntry): void {
    const previous = this.byKey.get(entry.key);
    if (previous !== undefined) {
      this.byKey.delete(entry.key);
      this.realms.get(previous.realm)?.delete(previous.uri, previous.match);
    }
    const claim = decodeClaim(entry);
    if (claim === undefined) return;
    this.byKey.set(entry.key, claim);
    let index = this.realms.get(claim.realm);
    if (index === undefined) this.realms.set(claim.realm, (index = new UriIndex<Claim>()));
    index.set(claim.uri, claim.match, claim);
  }

  /**
   * The registration a CALL to `uri` goes to (exact, else longest prefix, else best wildcard) among
   * those with a live callee, and those callees in order.
   */
  route(realm: string, uri: string): { claim: Claim; callees: ClusterCallee[] } | undefined {
    const index = this.realms.get(realm);
    if (index === undefined) return undefined;
    for (const claim of index.matchAll(uri)) {
      const callees = claim.callees.filter(this.isLive);
      if (callees.length > 0) return { claim, callees };
    }
    return undefined;
  }

  /** The registration stored under a key of the bucket (as a watched change names it). */
  claimAt(key: string): Claim | undefined {
    return this.byKey.get(key);
  }

  get(realm: string, uri: string, match: MatchPolicy): Claim | undefined {
    return this.byKey.get(claimKey(realm, uri, match));
  }

  /** Registrations that list a callee on `node` (to clean up after it died). */
  keysWithNode(node: string): string[] {
    return this.keysWhere((c) => c.node === node);
  }

  /** Registrations that list a callee `test` selects. */
  keysWhere(test: (callee: ClusterCallee) => boolean): string[] {
    return [...this.byKey].filter(([, claim]) => claim.callees.some(test)).map(([key]) => key);
  }

  /** Drops every registration whose key `keep` rejects; returns their keys. */
  retainOnly(keep: (key: string) => boolean): string[] {
    const dropped = [...this.byKey.keys()].filter((key) => !keep(key));
    for (const key of dropped) {
      const claim = this.byKey.get(key)!;
      this.byKey.delete(key);
      this.realms.get(claim.realm)?.delete(claim.uri, claim.match);
    }
    return dropped;
  }

  get size(): number {
    return this.byKey.size;
  }
}

/**
 * Follows the bucket into a view, telling `changed` each key that changed. {@link start} reads the
 * whole table again: at start-up, and after each reconnect, because a NATS restart ends the old
 * watch (its consumer is gone) and may have lost the bucket with every entry in it, so keys the
 * view still holds but the bucket no longer has are dropped then.
 */
/** How long the initial read of the registry may take before the watch is started again. */
const INITIAL_READ_MS = 10_000;

export class RegistryFollower {
  private watch: QueuedIterator<KvEntry> | undefined;

  constructor(
    private readonly kv: KV,
    private readonly view: RegistryView,
    private readonly changed: (key: string) => void,
    private readonly failed: (error: unknown) => void,
  ) {}

  /**
   * (Re)starts the watch; resolves once the view holds the bucket as it is now. Rejects after
   * `withinMs` without the end of the initial read (the client does not always signal it, e.g. when
   * its consumer was reset meanwhile), so the caller can start again.
   */
  async start(withinMs = INITIAL_READ_MS): Promise<void> {
    this.watch?.stop();
    this.watch = undefined;
    let seen: Set<string> | undefined = new Set<string>();
    let initialized!: () => void;
    const ready = new Promise<void>((resolve) => (initialized = resolve));
    const watch = await this.kv.watch({ key: 'c.>', initializedFn: () => initialized() });
    this.watch = watch;
    void (async () => {
      for await (const entry of watch) {
        seen?.add(entry.key);
        this.view.apply(entry);
        this.changed(entry.key);
      }
    })().catch(this.failed);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), withinMs)));
    const outcome = await Promise.race([ready, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      if (this.watch === watch) this.stop();
      throw new Error(`the registry watch did not finish its initial read within ${withinMs} ms`);
    }
    // The client may signal `initialized` before the loop has taken the entries already queued;
    // they are taken in microtasks, so after one turn of the event loop the view has them all.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.watch !== watch) return;
    const snapshot = seen;
    seen = undefined;
    for (const key of this.view.retainOnly((key) => snapshot.has(key))) this.changed(key);
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
  }
}
