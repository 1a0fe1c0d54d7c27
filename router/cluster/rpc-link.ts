/**
 * A realm's dealer joined to the other nodes' dealers (design: shared/cluster-nats.md §3.4, done
 * differently as said here).
 *
 * Every registration of the cluster's registry (registry.ts) is mirrored into each node's own
 * dealer, under the registry's id, with its callees in the registry's order: local sessions as
 * themselves, callees of other nodes as {@link ProxyCallee}s. So the single-node dealer does all
 * the routing: precedence, invocation policies (`first`/`last` agree across nodes; `roundrobin`
 * and `random` are per caller node), progressive results, cancel modes, timeouts, concurrency,
 * caller disclosure. A proxy callee sends what it is given to its node's rpc subject; there one
 * {@link ProxyCaller} per caller node hands it to the named callee through the dealer, and sends
 * RESULT and ERROR back to the caller node's result subject, where they enter the dealer as the
 * proxy callee's YIELD and ERROR.
 *
 * A local REGISTER first joins the registration in the registry (compare-and-set: `single` holds
 * cluster-wide); UNREGISTER and a session's end leave it. When a node dies, calls in flight to its
 * callees fail with `wamp.error.canceled` at once, calls it made are interrupted, and the lowest
 * live node removes its callees from the registry. While NATS is unreachable a call to a remote
 * callee fails at once with `wamp.error.network_failure`: nothing is queued.
 */

import type { Subscription } from 'nats';
import type { Realm } from '../../realms/realm.js';
import { CALLEE_GONE, type Callee, type Dealer, type DealerRemote, type InvokePolicy, type MirroredCallee } from '../dealer.js';
import { ErrorUri, WampError } from '../protocol/errors.js';
import { MessageType, type Interrupt, type Invocation } from '../protocol/messages.js';
import type { MatchPolicy } from '../protocol/uri.js';
import type { RoutedPeer } from '../peer.js';
import type { ClusterContext } from './context.js';
import type { MembershipChange } from './membership.js';
import { CALLEE_FEATURES, ProxyCallee, ProxyCaller } from './proxy-peers.js';
import { claimKey, type Claim, type ClusterCallee } from './registry.js';
import { decodeEnvelope, encodeEnvelope, type RpcEnvelope, type ToCalleeNode, type ToCallerNode } from './rpc-envelope.js';
import { nodeResultSubject, nodeRpcSubject } from './subjects.js';

export interface RealmRpcLink {
  detach(): void;
  membershipChanged(change: MembershipChange): void;
  /** A key of the registration table changed (already applied to runtime.view). */
  registryChanged(key: string): void;
  /** NATS is back and runtime.view current again: re-assert this node's callees (design §3.6). */
  recovered(): void;
}

/** The UNREGISTERED reason (and log line) when re-assertion finds the URI taken meanwhile. */
const LOST_REASON = 'registered on another node while this node was cut off from the cluster';
/** After a failed re-assertion (KV trouble), the next attempt. */
const RECONCILE_RETRY_MS = 1000;
/** Registry reads at once per realm for CALLs that found no callee (catchUp). */
const MAX_CATCH_UPS = 64;

export function attachRpc(runtime: ClusterContext, realm: Realm): RealmRpcLink {
  return new RealmRpc(runtime, realm, RpcTransport.of(runtime));
}

/**
 * The node's two rpc subscriptions (its rpc and result subjects are per node, not per realm), shared
 * by the realms' links and dropped with the last of them.
 */
class RpcTransport {
  private static readonly byRuntime = new WeakMap<ClusterContext, RpcTransport>();
  private readonly realms = new Map<string, RealmRpc>();
  private readonly subscriptions: Subscription[];

  static of(runtime: ClusterContext): RpcTransport {
    let transport = RpcTransport.byRuntime.get(runtime);
    if (transport === undefined) RpcTransport.byRuntime.set(runtime, (transport = new RpcTransport(runtime)));
    return transport;
  }

  private constructor(private readonly runtime: ClusterContext) {
    const { data, scheme, node } = runtime.node;
    const receive = (error: Error | null, msg: { data: Uint8Array }) => {
      if (error !== null) return;
      const envelope = decodeEnvelope(msg.data);
      if (envelope !== undefined) this.realms.get(envelope.realm)?.receive(envelope);
    };
    this.subscriptions = [nodeRpcSubject(scheme, node), nodeResultSubject(scheme, node)].map((subject) => data.subscribe(subject, { callback: receive }));
    // So that a call routed here right after this node joined is not missed.
    data.flush().catch(() => undefined);
  }

  add(link: RealmRpc): void {
    this.realms.set(link.name, link);
  }

  remove(link: RealmRpc): void {
    if (this.realms.get(link.name) === link) this.realms.delete(link.name);
    if (this.realms.size > 0) return;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    RpcTransport.byRuntime.delete(this.runtime);
  }

  /** False when NATS is unreachable: the envelope is dropped, never queued in the client. */
  send(node: string, envelope: RpcEnvelope): boolean {
    const { data, scheme } = this.runtime.node;
    if (!this.runtime.connected || data.isClosed()) return false;
    const subject = envelope.k === 'inv' || envelope.k === 'int' ? nodeRpcSubject(scheme, node) : nodeResultSubject(scheme, node);
    data.publish(subject, encodeEnvelope(envelope));
    return true;
  }
}

class RealmRpc implements RealmRpcLink, DealerRemote {
  readonly name: string;
  private readonly dealer: Dealer;
  private readonly self: string;
  /** Callee sessions of other nodes, by `node/session`. */
  private readonly proxies = new Map<string, ProxyCallee>();
  /** Other nodes calling callees here, by node. */
  private readonly callers = new Map<string, ProxyCaller>();
  /** The registry's registrations of this realm as last mirrored, by key. */
  private readonly mirrored = new Map<string, Claim>();
  /** Registry reads under way for CALLs that found no callee (catchUp). */
  private catchUps = 0;
  /** Local REGISTERs written to the registry that the dealer has not added yet: `key#session`. */
  private readonly joining = new Set<string>();
  /** One reconciliation at a time; `again` when more was asked for while it ran. */
  private reconciling: Promise<void> | undefined;
  private again = false;
  /** Until then a REGISTER waits, so that every node has re-asserted its callees first. */
  private holdUntil = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly runtime: ClusterContext, private readonly realm: Realm, private readonly transport: RpcTransport) {
    this.name = realm.name;
    this.dealer = realm.dealer;
    this.self = runtime.node.node;
    transport.add(this);
    this.dealer.remote = this;
    for (const key of this.keysWith([this.self, ...runtime.node.membership.alivePeers().map((p) => p.node)])) this.registryChanged(key);
    // Once every live peer has been heard, entries of nodes that never beat again are swept.
    this.sweepTimer = setTimeout(() => this.sweep(), runtime.config.deadAfterMs).unref();
  }

  detach(): void {
    clearTimeout(this.sweepTimer);
    if (this.dealer.remote === this) this.dealer.remote = undefined;
    for (const peer of [...this.proxies.values(), ...this.callers.values()]) this.dealer.detach(peer);
    this.proxies.clear();
    this.callers.clear();
    this.transport.remove(this);
  }

  // ----- the registry -----

  /**
   * A CALL found no callee: read the exact registration from the bucket in case this node's copy is
   * a moment behind a REGISTER on another node (design §3.4, CALL step 1). At most
   * MAX_CATCH_UPS reads run at once per realm, so calls to procedures that do not exist cannot
   * turn into a flood of KV reads: beyond that the miss is answered as it is.
   */
  async catchUp(procedure: string): Promise<boolean> {
    if (!this.runtime.connected || this.catchUps >= MAX_CATCH_UPS) return false;
    const key = claimKey(this.name, procedure, 'exact');
    if (this.runtime.view.claimAt(key) !== undefined) return false;
    this.catchUps++;
    try {
      const entry = await this.runtime.store.read(key);
      return entry !== null && entry.operation === 'PUT' && this.runtime.adopt(entry);
    } catch {
      return false;
    } finally {
      this.catchUps--;
    }
  }

  async join(session: RoutedPeer, procedure: string, match: MatchPolicy, invoke: InvokePolicy, concurrency: number, discloseCaller: boolean): Promise<{ id: number; created: boolean }> {
    // Right after an outage a new claim could take a URI from a callee not yet re-asserted.
    const held = this.holdUntil - Date.now();
    if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
    // Without NATS there is no compare-and-set, and a KV request would only time out later.
    if (!this.runtime.connected) throw new WampError(ErrorUri.networkFailure, 'the cluster cannot be reached: try again');
    const callee = this.entryFor(session, concurrency, discloseCaller);
    const key = claimKey(this.name, procedure, match);
    const joining = `${key}#${session.id}`;
    this.joining.add(joining);
    try {
      const { claim, created } = await this.runtime.store.join(this.name, procedure, match, invoke, callee);
      return { id: claim.regId, created };
    } finally {
      // Once the dealer has added the callee (right after this resolves), put it where the registry
      // has it, in case the watch already delivered later joins.
      setImmediate(() => {
        this.joining.delete(joining);
        this.registryChanged(key);
      });
    }
  }

  leave(session: RoutedPeer, procedure: string, match: MatchPolicy): void {
    this.runtime.store.leave(this.name, procedure, match, this.self, session.id).catch((error: unknown) => {
      this.runtime.logger.warn('cluster.leave_failed', { node: this.self, realm: this.name, procedure, error: String(error) });
    });
  }

  registryChanged(key: string): void {
    const claim = this.runtime.view.claimAt(key);
    const before = this.mirrored.get(key);
    if (claim === undefined || claim.realm !== this.name) {
      if (before === undefined) return;
      this.mirrored.delete(key);
      if (this.lostOwnCallee(before, undefined)) this.reconcile();
      this.dealer.mirror(before.uri, before.match, before.invoke, before.regId, []);
      this.releaseUnlisted(before);
      return;
    }
    this.mirrored.set(key, claim);
    if (before !== undefined && this.lostOwnCallee(before, claim)) this.reconcile();
    const callees = claim.callees.filter((c) => this.runtime.view.isLive(c) && (c.node !== this.self || c.incarnation === this.runtime.node.incarnation));
    this.dealer.mirror(claim.uri, claim.match, claim.invoke, claim.regId, callees.map((c) => this.mirroredCallee(c)).filter((c) => c !== undefined));
    if (before !== undefined) this.releaseUnlisted(before);
  }

  private mirroredCallee(entry: ClusterCallee): MirroredCallee | undefined {
    const { concurrency, discloseCaller } = entry;
    if (entry.node === this.self) {
      const session = this.realm.sessions.get(entry.session);
      return session && { session, remote: false, concurrency, discloseCaller };
    }
    return { session: this.proxyFor(entry), remote: true, concurrency, discloseCaller };
  }

  private proxyFor(entry: ClusterCallee): ProxyCallee {
    const key = `${entry.node}/${entry.session}`;
    const known = this.proxies.get(key);
    if (known !== undefined && known.incarnation === entry.incarnation) return known;
    if (known !== undefined) this.dealer.detach(known);
    const proxy = new ProxyCallee(entry, { invoke: (p, m, continued) => this.invoke(p, m, continued), interrupt: (p, m) => this.interrupt(p, m) });
    this.proxies.set(key, proxy);
    return proxy;
  }

  /** Proxies a registration no longer lists are forgotten once nothing else holds them. */
  private releaseUnlisted(before: Claim): void {
    for (const entry of before.callees) {
      const proxy = this.proxies.get(`${entry.node}/${entry.session}`);
      if (proxy !== undefined) this.release(proxy);
    }
  }

  private release(proxy: ProxyCallee): void {
    if (this.dealer.release(proxy)) this.proxies.delete(`${proxy.node}/${proxy.id}`);
  }

  private keysWith(nodes: string[]): string[] {
    const keys = new Set(nodes.flatMap((node) => this.runtime.view.keysWithNode(node)));
    return [...keys].filter((key) => this.runtime.view.claimAt(key)?.realm === this.name);
  }

  // ----- nodes coming and going -----

  membershipChanged(change: MembershipChange): void {
    if (change.kind === 'down' || change.kind === 'restarted') {
      this.forgetNode(change.node);
      const dead = change.kind === 'down' ? change.incarnation : change.previous;
      // Cut off from NATS, this node sees every peer go silent: it must not purge them (a request
      // buffered by the client would run after the reconnect); the sweep after recovery does.
      if (this.runtime.connected && this.runtime.node.membership.isJanitor()) this.removeFromRegistry(change.node, dead);
    }
    // Entries of a node that just became live (or whose old incarnation died) change meaning.
    for (const key of this.keysWith([change.node])) this.registryChanged(key);
  }

  /**
   * A node is gone: calls in flight to its callees are answered `wamp.error.canceled` now (as when
   * a local callee leaves), and its calls to callees here are interrupted and their results dropped.
   */
  private forgetNode(node: string): void {
    for (const [key, proxy] of this.proxies) {
      if (proxy.node !== node) continue;
      this.proxies.delete(key);
      this.dealer.detach(proxy);
    }
    const caller = this.callers.get(node);
    if (caller !== undefined) {
      this.callers.delete(node);
      this.dealer.detach(caller);
    }
  }

  private removeFromRegistry(node: string, incarnation: string): void {
    for (const key of this.keysWith([node])) {
      this.runtime.store.remove(key, (c) => c.node === node && c.incarnation === incarnation).catch((error: unknown) => {
        this.runtime.logger.warn('cluster.cleanup_failed', { node: this.self, dead: node, key, error: String(error) });
      });
    }
  }

  // ----- recovery after an outage (design §3.6 "Reconnect") -----

  recovered(): void {
    const { heartbeatMs, deadAfterMs } = this.runtime.config;
    this.holdUntil = Date.now() + 2 * heartbeatMs;
    this.reconcile();
    // By then every live peer has been heard again: what is still listed for a silent node is stale.
    clearTimeout(this.sweepTimer);
    this.sweepTimer = setTimeout(() => this.sweep(), deadAfterMs).unref();
  }

  /** Whether `after` no longer lists a callee of this node that `before` did and the dealer still has. */
  private lostOwnCallee(before: Claim, after: Claim | undefined): boolean {
    const { incarnation } = this.runtime.node;
    return before.callees.some((c) => c.node === this.self && c.incarnation === incarnation
      && !after?.callees.some((a) => a.node === c.node && a.session === c.session && after.regId === before.regId)
      && this.localCallee(before.regId, c.session) !== undefined);
  }

  private localCallee(regId: number, session: number): Callee | undefined {
    return this.dealer.getRegistration(regId)?.callees.find((c) => !c.mirrored && c.session.id === session);
  }

  /**
   * Makes the registry agree with this node's dealer, which is authoritative for its own callees:
   * each local callee the registry lacks is re-asserted (under its registration's id), and each
   * entry of this node without a local callee (an UNREGISTER whose leave failed during an outage, an
   * older incarnation) is removed.
   */
  private reconcile(): void {
    if (this.reconciling !== undefined) {
      this.again = true;
      return;
    }
    this.reconciling = (async () => {
      do {
        this.again = false;
        if (!this.runtime.connected || this.dealer.remote !== this) return;
        await this.reassertOwn();
        await this.removeStaleOwn();
      } while (this.again);
    })().catch((error: unknown) => {
      this.runtime.logger.warn('cluster.reassert_failed', { node: this.self, realm: this.name, error: String(error), retryInMs: RECONCILE_RETRY_MS });
      setTimeout(() => this.reconcile(), RECONCILE_RETRY_MS).unref();
    }).finally(() => (this.reconciling = undefined));
  }

  private async reassertOwn(): Promise<void> {
    const byRegistration = new Map<number, Callee[]>();
    for (const callee of this.dealer.calleeList()) {
      if (callee.mirrored) continue;
      const group = byRegistration.get(callee.registration.id);
      if (group === undefined) byRegistration.set(callee.registration.id, [callee]);
      else group.push(callee);
    }
    for (const callees of byRegistration.values()) {
      const { id, uri, match, invoke, created } = callees[0]!.registration;
      const key = claimKey(this.name, uri, match);
      const listed = this.runtime.view.claimAt(key);
      const entries = callees.map((c) => this.entryFor(c.session, c.concurrency, c.discloseCaller));
      if (listed?.regId === id && entries.every((e) => listed.callees.some((c) => c.node === e.node && c.session === e.session && c.incarnation === e.incarnation))) continue;
      const outcome = await this.runtime.store.reassert({ regId: id, realm: this.name, uri, match, invoke, created }, entries);
      if (outcome === 'lost') this.revokeLost(callees, key);
    }
  }

  /** A local callee's entry in the registry. */
  private entryFor(session: RoutedPeer, concurrency: number, discloseCaller: boolean): ClusterCallee {
    return {
      node: this.self, incarnation: this.runtime.node.incarnation, session: session.id, concurrency, discloseCaller,
      authid: session.authid, authrole: session.authrole, features: CALLEE_FEATURES.filter((f) => session.hasFeature('callee', f)),
    };
  }

  /**
   * Another node registered the URI while this node's callees were not listed (purged while it was
   * cut off): that registration came first and wins; these callees are revoked, with an UNREGISTERED
   * to those that announced `registration_revocation`.
   */
  private revokeLost(callees: Callee[], key: string): void {
    for (const callee of callees) {
      this.runtime.logger.warn('cluster.registration_lost', {
        node: this.self, realm: this.name, procedure: callee.registration.uri, registration: callee.registration.id, session: callee.session.id,
        reason: LOST_REASON, announced: callee.session.hasFeature('callee', 'registration_revocation'),
      });
      this.dealer.revoke(callee, LOST_REASON);
    }
    this.registryChanged(key);
  }

  private async removeStaleOwn(): Promise<void> {
    const { incarnation } = this.runtime.node;
    const stale = (key: string, claim: Claim) => (c: ClusterCallee) => c.node === this.self
      && (c.incarnation !== incarnation || (this.localCallee(claim.regId, c.session) === undefined && !this.joining.has(`${key}#${c.session}`)));
    for (const key of this.keysWith([this.self])) {
      const claim = this.runtime.view.claimAt(key);
      if (claim === undefined || !claim.callees.some(stale(key, claim))) continue;
      await this.runtime.store.remove(key, stale(key, claim));
    }
  }

  /** The janitor removes what is still listed for nodes that did not come back. */
  private sweep(): void {
    if (!this.runtime.connected || !this.runtime.node.membership.isJanitor()) return;
    const gone = (c: ClusterCallee) => c.node !== this.self && !this.runtime.view.isLive(c);
    for (const key of this.runtime.view.keysWhere(gone)) {
      if (this.runtime.view.claimAt(key)?.realm !== this.name) continue;
      this.runtime.store.remove(key, gone).catch((error: unknown) => {
        this.runtime.logger.warn('cluster.cleanup_failed', { node: this.self, key, error: String(error) });
      });
    }
  }

  // ----- calls: caller side -----

  private invoke(proxy: ProxyCallee, invocation: Invocation, continued: boolean): string | void {
    const procedure = typeof invocation.details.procedure === 'string' ? invocation.details.procedure : this.dealer.getRegistration(invocation.registration)?.uri ?? '';
    let sent: boolean;
    try {
      sent = this.transport.send(proxy.node, {
        k: 'inv', realm: this.name, from: this.self, call: invocation.request, session: proxy.id, registration: invocation.registration,
        procedure, details: invocation.details, ...(continued ? { continued } : {}), args: invocation.args, kwargs: invocation.kwargs,
      });
    } catch (error) {
      return `the cluster cannot carry it: ${String((error as Error)?.message ?? error).slice(0, 120)}`;
    }
    // The dealer records the call right after this returns: answer it as the callee would, next.
    if (!sent) {
      queueMicrotask(() => this.dealer.invocationError(proxy, {
        type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: invocation.request, details: {},
        error: ErrorUri.networkFailure, args: ['the callee\'s node cannot be reached (NATS)'],
      }));
    }
  }

  private interrupt(proxy: ProxyCallee, interrupt: Interrupt): void {
    this.transport.send(proxy.node, { k: 'int', realm: this.name, from: this.self, call: interrupt.request, session: proxy.id, mode: String(interrupt.options.mode ?? 'killnowait') });
  }

  private answered(envelope: ToCallerNode): void {
    const proxy = this.proxies.get(`${envelope.from}/${envelope.session}`);
    if (proxy === undefined) return;
    if (envelope.k === 'res') {
      this.dealer.yield(proxy, { type: MessageType.YIELD, request: envelope.call, options: envelope.progress ? { progress: true } : {}, args: envelope.args, kwargs: envelope.kwargs });
      if (envelope.progress) return;
    } else if (envelope.error !== CALLEE_GONE || !this.dealer.routeAgain(proxy, envelope.call)) {
      const gone = envelope.error === CALLEE_GONE;
      this.dealer.invocationError(proxy, {
        type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: envelope.call, details: {},
        error: gone ? ErrorUri.noSuchProcedure : envelope.error, args: envelope.args, kwargs: envelope.kwargs,
      });
    }
    this.release(proxy);
  }

  // ----- calls: callee side -----

  receive(envelope: RpcEnvelope): void {
    if (envelope.k === 'res' || envelope.k === 'err') return this.answered(envelope);
    this.called(envelope);
  }

  private called(envelope: ToCalleeNode): void {
    if (envelope.k === 'int') {
      const caller = this.callers.get(envelope.from);
      const request = caller?.request(envelope.session, envelope.call, false);
      if (request !== undefined) this.dealer.cancel(caller!, { type: MessageType.CANCEL, request, options: { mode: envelope.mode } });
      return;
    }
    const caller = this.callerFor(envelope.from);
    // A further chunk of a call that has ended here (canceled, failed) starts nothing.
    const request = caller.request(envelope.session, envelope.call, envelope.continued !== true);
    if (request === undefined) return;
    const { progress, receive_progress: receiveProgress, ...details } = envelope.details;
    this.dealer.invokeCallee(caller, {
      type: MessageType.CALL, request, procedure: envelope.procedure, args: envelope.args, kwargs: envelope.kwargs,
      options: { ...(progress === true ? { progress } : {}), ...(receiveProgress === true ? { receive_progress: true } : {}) },
    }, envelope.registration, envelope.session, details);
  }

  /** A result the cluster cannot carry (too large once enveloped, …) still ends the call there. */
  private answer(node: string, envelope: ToCallerNode): void {
    try {
      this.transport.send(node, envelope);
    } catch (error) {
      const text = `the result cannot be delivered across the cluster: ${String((error as Error)?.message ?? error).slice(0, 120)}`;
      this.transport.send(node, { k: 'err', realm: envelope.realm, from: envelope.from, call: envelope.call, session: envelope.session, error: ErrorUri.invalidArgument, args: [text] });
    }
  }

  private callerFor(node: string): ProxyCaller {
    let caller = this.callers.get(node);
    if (caller === undefined) {
      caller = new ProxyCaller(node, this.name, this.self, (envelope) => this.answer(node, envelope));
      this.callers.set(node, caller);
    }
    return caller;
  }
}
