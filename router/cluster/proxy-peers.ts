/**
 * Stand-ins that let the single-node dealer take part in calls that cross nodes (rpc-link.ts).
 *
 * On the caller's node, a {@link ProxyCallee} is a callee session of another node: the dealer
 * selects it, times the call out and cancels it as any callee, and what the dealer sends it
 * (INVOCATION, INTERRUPT) goes to the callee's node. On the callee's node, one {@link ProxyCaller}
 * per caller node calls the named callee on that node's behalf, and what the dealer sends it
 * (RESULT, ERROR) goes back. Both ends keep the dealer's own logic: progressive results, cancel
 * modes, concurrency and timeouts are not written a second time here.
 */

import { randomId, SequentialIds } from '../protocol/ids.js';
import { MessageType, type Dict, type Interrupt, type Invocation, type RouterMessage } from '../protocol/messages.js';
import type { RoutedPeer } from '../peer.js';
import type { ClusterCallee } from './registry.js';
import type { ToCallerNode } from './rpc-envelope.js';

/** The callee features a caller's dealer asks about; a registry entry lists those its callee announced. */
export const CALLEE_FEATURES = ['progressive_call_results', 'progressive_call_invocations', 'call_canceling'] as const;

/** What a proxy callee's messages become: envelopes to its node (rpc-link.ts). */
export interface CalleeNodeChannel {
  /**
   * `continued`: a further chunk of a progressive invocation already sent. Returns why the
   * invocation cannot be carried, as a session's send() does (nothing was sent).
   */
  invoke(callee: ProxyCallee, invocation: Invocation, continued: boolean): string | void;
  interrupt(callee: ProxyCallee, interrupt: Interrupt): void;
}

export class ProxyCallee implements RoutedPeer {
  readonly node: string;
  readonly incarnation: string;
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;
  readonly invocationIds = new SequentialIds();
  private readonly features: ReadonlySet<string>;
  /** The newest INVOCATION request id sent: ids grow, so a smaller or equal one continues a call. */
  private newest = 0;

  constructor(entry: ClusterCallee, private readonly channel: CalleeNodeChannel) {
    this.node = entry.node;
    this.incarnation = entry.incarnation;
    this.id = entry.session;
    this.authid = entry.authid ?? '';
    this.authrole = entry.authrole ?? '';
    this.features = new Set(entry.features ?? []);
  }

  send(message: RouterMessage): string | void {
    if (message.type === MessageType.INVOCATION) {
      const continued = message.request <= this.newest;
      if (!continued) this.newest = message.request;
      return this.channel.invoke(this, message, continued);
    } else if (message.type === MessageType.INTERRUPT) {
      this.channel.interrupt(this, message);
    }
    // UNREGISTERED (a revocation here) is not forwarded: the callee's own node decides that.
  }

  sendError(): void {
    // A callee is never answered with an ERROR by the dealer.
  }

  hasFeature(role: string, feature: string): boolean {
    return role === 'callee' && this.features.has(feature);
  }

  violation(): void {
    // Only callers can break the protocol toward the dealer.
  }

  isActive(): boolean {
    return true;
  }

  /**
   * The call ended on the caller's node without an INTERRUPT for the callee: its node cancels it
   * with `skip` (no INTERRUPT there either), which frees the callee's `concurrency` slot as on one
   * node; the ERROR it answers with finds no call here and is dropped.
   */
  forgotten(invocationRequest: number): void {
    this.channel.interrupt(this, { type: MessageType.INTERRUPT, request: invocationRequest, options: { mode: 'skip' } });
  }
}

/** Where a proxy caller's answers go: the caller node's result subject (rpc-link.ts). */
export type CallerNodeChannel = (envelope: ToCallerNode) => void;

interface ForwardedCall {
  session: number;
  call: number;
}

/**
 * Every call from one other node to the callees here. The dealer knows a call by (caller,
 * request id); the caller's node knows it by (callee session, call id), so this maps the one to the
 * other, from the first chunk of an invocation to its final answer.
 */
export class ProxyCaller implements RoutedPeer {
  readonly id = randomId();
  readonly authid: string;
  readonly authrole = 'cluster';
  readonly invocationIds = new SequentialIds();
  private readonly requests = new SequentialIds();
  private readonly byRequest = new Map<number, ForwardedCall>();
  private readonly byCall = new Map<string, number>();

  constructor(readonly node: string, private readonly realm: string, private readonly self: string, private readonly answer: CallerNodeChannel) {
    this.authid = `node:${node}`;
  }

  /** The dealer's request id for (callee session, call id); a new one only when `start`. */
  request(session: number, call: number, start: boolean): number | undefined {
    const key = `${session}:${call}`;
    const known = this.byCall.get(key);
    if (known !== undefined || !start) return known;
    const request = this.requests.next();
    this.byCall.set(key, request);
    this.byRequest.set(request, { session, call });
    return request;
  }

  get pending(): number {
    return this.byRequest.size;
  }

  send(message: RouterMessage): void {
    if (message.type === MessageType.RESULT) {
      const progress = message.details.progress === true;
      this.reply(message.request, !progress, (to) => ({ k: 'res', ...to, ...(progress ? { progress } : {}), args: message.args, kwargs: message.kwargs }));
    } else if (message.type === MessageType.ERROR) {
      this.reply(message.request, true, (to) => ({ k: 'err', ...to, error: message.error, args: message.args, kwargs: message.kwargs }));
    }
  }

  sendError(_type: number, request: number, error: string, text?: string, args?: unknown[], kwargs?: Dict): void {
    this.reply(request, true, (to) => ({ k: 'err', ...to, error, args: args ?? (text ? [text] : undefined), kwargs }));
  }

  hasFeature(): boolean {
    return true;
  }

  violation(): void {
    // The caller's node already checked its caller; nothing here to end.
  }

  isActive(): boolean {
    return true;
  }

  private reply(request: number, final: boolean, make: (to: { realm: string; from: string; call: number; session: number }) => ToCallerNode): void {
    const forwarded = this.byRequest.get(request);
    if (forwarded === undefined) return;
    if (final) {
      this.byRequest.delete(request);
      this.byCall.delete(`${forwarded.session}:${forwarded.call}`);
    }
    this.answer(make({ realm: this.realm, from: this.self, call: forwarded.call, session: forwarded.session }));
  }
}
