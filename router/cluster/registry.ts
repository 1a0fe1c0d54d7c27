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
import type { KV, KvEntry } from 'nats';
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

/** Whether a callee's node is alive with the incarnation the entry was made by (membership.ts). */
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
    return [...this.byKey].filter(([, claim]) => claim.callees.some((c) => c.node === node)).map(([key]) => key);
  }

  get size(): number {
    return this.byKey.size;
  }
}
