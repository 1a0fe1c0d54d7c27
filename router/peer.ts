import type { SequentialIds } from './protocol/ids.js';
import type { Dict, RouterMessage } from './protocol/messages.js';

/**
 * What the dealer needs of a party to a call: a remote session, or the router itself when it
 * calls a procedure internally (a dynamic authenticator). Keeping the dealer on this interface
 * rather than on Session lets in-process parties take part without a transport.
 */
export interface RoutedPeer {
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;
  /** INVOCATION request IDs toward this peer as callee: 1, 2, 3, … */
  readonly invocationIds: SequentialIds;
  /** Undefined once sent; else why this peer's serializer cannot carry the message (nothing was sent). */
  send(message: RouterMessage): string | void;
  sendError(requestType: number, request: number, error: string, message?: string, args?: unknown[], kwargs?: Dict): void;
  hasFeature(role: string, feature: string): boolean;
  /** The peer broke the protocol: end it with ABORT `wamp.error.protocol_violation`. */
  violation(message: string): void;
  /** Still joined: checked again after every asynchronous step before touching routing state. */
  isActive(): boolean;
  /**
   * A call to this callee ended here without an INTERRUPT (the caller left, the call timed out or
   * was canceled with `skip`, or the callee did not announce call_canceling). A local session needs
   * nothing; a stand-in for a callee on another node passes it on, so that node lets go of the call
   * (and its `concurrency` slot) as this one did.
   */
  forgotten?(invocationRequest: number): void;
}
