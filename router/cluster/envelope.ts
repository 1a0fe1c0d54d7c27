/**
 * The bytes one publication travels between nodes in (design: shared/cluster-nats.md §3.3).
 *
 * CBOR (cbor-x, already the WAMP cbor serializer's library) because it carries what any of the
 * WAMP serializers decoded exactly: binary as byte strings, BigInt of any size (64-bit integers and
 * bignums), integers and floats as they were. JSON would lose binary and BigInt, msgpack integers
 * beyond 64 bits. The publishing node encodes once; NATS copies the bytes to every interested node.
 *
 * A message from NATS is input like any other: decoding checks every field and answers undefined
 * for anything else (the caller drops and counts it), never throws.
 */

import { Decoder, Encoder } from 'cbor-x';
import { parseReceiverFilter, RECEIVER_FILTER_KEYS, type RemotePublication } from '../broker.js';
import { isDict } from '../protocol/decode.js';
import { isValidId } from '../protocol/ids.js';

/** A publication of `realm`, as the receiving node's broker takes it. */
export interface EventEnvelope extends RemotePublication {
  realm: string;
}

/** Bumped when the layout changes, so a node never misreads a peer of another version. */
const VERSION = 1;

// Plain objects and byte strings (no cbor-x records or typed-array tags), as in serializer/cbor.ts.
const OPTIONS = { useRecords: false, mapsAsObjects: true, tagUint8Array: false };
const encoder = new Encoder(OPTIONS);
// 64-bit integers decode to BigInt, so an integer a publisher sent exactly stays exact.
const decoder = new Decoder(OPTIONS);

/** Node-to-node CBOR with the options above, for the cluster's other plain messages (meta-link.ts). */
export const clusterCbor = {
  encode: (value: unknown): Uint8Array => encoder.encode(value),
  /** Throws on malformed input: callers drop what they cannot read. */
  decode: (data: Uint8Array): unknown => decoder.decode(data),
};

/** The envelope's bytes; throws only if the payload holds something CBOR cannot write. */
export function encodeEnvelope(event: EventEnvelope): Uint8Array {
  return encoder.encode([
    VERSION, event.realm, event.topic, event.publication, event.publisher ?? null, event.args ?? null, event.kwargs ?? null, event.filter,
  ]);
}

/** The envelope in `data`, or undefined if it is not one this node wrote (or a peer of its version). */
export function decodeEnvelope(data: Uint8Array): EventEnvelope | undefined {
  let value: unknown;
  try {
    value = decoder.decode(data);
  } catch {
    return undefined; // malformed, truncated, or nested beyond the stack
  }
  if (!Array.isArray(value) || value.length !== 8 || value[0] !== VERSION) return undefined;
  const [, realm, topic, publication, publisher, args, kwargs, filter] = value as unknown[];
  if (typeof realm !== 'string' || typeof topic !== 'string' || topic === '' || !isValidId(publication)) return undefined;
  if (publisher !== null && !isPublisher(publisher)) return undefined;
  if (args !== null && !Array.isArray(args)) return undefined;
  if (kwargs !== null && !isDict(kwargs)) return undefined;
  if (!isFilter(filter)) return undefined;
  return {
    realm, topic, publication, filter,
    publisher: publisher ?? undefined, args: (args as unknown[] | null) ?? undefined, kwargs: kwargs ?? undefined,
  };
}

/** Exactly the disclosure the broker writes: publisher session, authid, authrole. */
function isPublisher(value: unknown): value is RemotePublication['publisher'] & object {
  if (!isDict(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 3 && isValidId(value.publisher) && typeof value.publisher_authid === 'string'
    && typeof value.publisher_authrole === 'string';
}

function isFilter(value: unknown): value is RemotePublication['filter'] {
  if (!isDict(value)) return false;
  if (!Object.keys(value).every((key) => (RECEIVER_FILTER_KEYS as readonly string[]).includes(key))) return false;
  return parseReceiverFilter(value) !== undefined;
}
