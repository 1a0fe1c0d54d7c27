import { encodeHead, encodeMessage } from '../protocol/encode.js';
import type { Payload, RouterMessage } from '../protocol/messages.js';
import type { Serializer } from './serializer.js';

/**
 * A router message as one serializer's frame. A payload passed on unchanged from a frame of the
 * same serializer (CALL → INVOCATION, YIELD → RESULT) is not encoded again: its section of the
 * sender's frame follows the newly encoded head. Encoding the payload was about a third of a JSON
 * INVOCATION's cost in the rpc bench (issue 16). Throws as Serializer.encode does.
 */
export function encodeFor(serializer: Serializer, message: RouterMessage): Buffer | string {
  const encoded = (message as Payload).encoded;
  if (encoded !== undefined && encoded.format === serializer.name && serializer.encodeAround !== undefined) {
    const head = encodeHead(message);
    if (head !== undefined) return serializer.encodeAround(head, encoded.section);
  }
  return serializer.encode(encodeMessage(message));
}
