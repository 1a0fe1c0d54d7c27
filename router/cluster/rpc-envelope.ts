/**
 * What one node's dealer tells another about a call (design: shared/cluster-nats.md §3.4), on the
 * nodes' rpc and result subjects (subjects.ts). Encoded like a WAMP CBOR frame (the router's own CBOR
 * serializer), so binary stays binary and integers beyond 2^53 stay exact whatever serializers the
 * caller and the callee use.
 *
 * `call` is the INVOCATION request id the caller's node gave the call toward the remote callee
 * `session`: unique per (caller node, callee session), so the pair names one call on both sides.
 */

import { isDict } from '../protocol/decode.js';
import type { Dict } from '../protocol/messages.js';
import { cborSerializer } from '../serializer/cbor.js';

interface Addressed {
  realm: string;
  /** The node that sent this envelope. */
  from: string;
  call: number;
  /** The callee's session id, on the callee's node. */
  session: number;
}

/** Caller node → callee node: an invocation (or a further chunk of a progressive one). */
export interface InvocationEnvelope extends Addressed {
  k: 'inv';
  registration: number;
  procedure: string;
  /** INVOCATION.Details as the caller's dealer made them: caller disclosure, procedure, progress flags. */
  details: Dict;
  /** A further chunk of a progressive invocation: it never starts a call. */
  continued?: boolean;
  args?: unknown[];
  kwargs?: Dict;
}

/** Caller node → callee node: cancel the call (its dealer's INTERRUPT). */
export interface InterruptEnvelope extends Addressed {
  k: 'int';
  mode: string;
}

/** Callee node → caller node: a result, progressive or final. */
export interface ResultEnvelope extends Addressed {
  k: 'res';
  progress?: boolean;
  args?: unknown[];
  kwargs?: Dict;
}

/** Callee node → caller node: the call failed (the callee's ERROR or the callee node's dealer). */
export interface ErrorEnvelope extends Addressed {
  k: 'err';
  error: string;
  args?: unknown[];
  kwargs?: Dict;
}

export type ToCalleeNode = InvocationEnvelope | InterruptEnvelope;
export type ToCallerNode = ResultEnvelope | ErrorEnvelope;
export type RpcEnvelope = ToCalleeNode | ToCallerNode;

export function encodeEnvelope(envelope: RpcEnvelope): Uint8Array {
  return cborSerializer.encode(envelope as unknown as unknown[]) as Buffer;
}

/** Undefined for anything that is not one of our envelopes (never trust the subject alone). */
export function decodeEnvelope(data: Uint8Array): RpcEnvelope | undefined {
  let value: unknown;
  try {
    value = cborSerializer.decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const envelope = value as Partial<RpcEnvelope>;
  const addressed = typeof envelope.realm === 'string' && typeof envelope.from === 'string'
    && typeof envelope.call === 'number' && typeof envelope.session === 'number';
  if (!addressed) return undefined;
  switch (envelope.k) {
    case 'inv':
      return typeof envelope.registration === 'number' && typeof envelope.procedure === 'string' && isDict(envelope.details) ? envelope as InvocationEnvelope : undefined;
    case 'int':
      return typeof envelope.mode === 'string' ? envelope as InterruptEnvelope : undefined;
    case 'res':
      return envelope as ResultEnvelope;
    case 'err':
      return typeof envelope.error === 'string' ? envelope as ErrorEnvelope : undefined;
    default:
      return undefined;
  }
}
