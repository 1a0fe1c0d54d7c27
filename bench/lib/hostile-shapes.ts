import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { SerializerName } from '../../router/serializer/serializer.js';

/**
 * The costliest legal-looking CALLs that fit in `maxBytes` (issue 13.4), per serializer: what a
 * hostile session can make the router decode per message. Used by the bench's `hostile` scenario
 * and by test/robustness/hostile-payload.test.ts.
 */

export const HOSTILE_SHAPES = ['flat-zeros', 'short-strings', 'many-keys', 'deep-nesting', 'binary', 'under-cap'] as const;
export type HostileShape = (typeof HOSTILE_SHAPES)[number];

/** Bytes left for the header `[48, request, {}, procedure, ...]`, with room to spare. */
const HEADER_ROOM = 256;

/** Elements per item on the wire: JSON `0,` is 2 bytes, msgpack/CBOR `0` is 1. */
function count(serializer: SerializerName, maxBytes: number, jsonBytes: number, binaryBytes: number): number {
  return Math.floor((maxBytes - HEADER_ROOM) / (serializer === 'json' ? jsonBytes : binaryBytes));
}

function args(shape: HostileShape, serializer: SerializerName, maxBytes: number): unknown[] {
  switch (shape) {
    case 'flat-zeros': return new Array(count(serializer, maxBytes, 2, 1)).fill(0);
    case 'short-strings': return new Array(count(serializer, maxBytes, 4, 2)).fill('a');
    case 'many-keys': {
      const dict: Record<string, number> = {};
      // msgpackr writes at most 65,535 keys per map by default.
      const n = Math.min(count(serializer, maxBytes, 12, 9), 65_535);
      for (let i = 0; i < n; i++) dict[`k${i}`] = 0;
      return [dict];
    }
    case 'binary': return [Buffer.alloc(serializer === 'json' ? Math.floor((maxBytes - HEADER_ROOM) * 0.74) : maxBytes - HEADER_ROOM, 0xab)];
    // Just under the default element cap: the most a session may make the router decode.
    case 'under-cap': return new Array(90_000).fill(0);
    case 'deep-nesting': return []; // built byte by byte below: encoders recurse
  }
}

/** `depth` nested single-element lists around a 0, written directly (the encoders would recurse). */
function deepFrame(serializer: SerializerName, request: number, procedure: string, depth: number): Buffer | string {
  const head = SERIALIZERS[serializer].encode([48, request, {}, procedure]);
  if (serializer === 'json') return `${(head as string).slice(0, -1)},[${'['.repeat(depth)}0${']'.repeat(depth)}]]`;
  // msgpack fixarray of 1 = 0x91, CBOR array of 1 = 0x81; the message array grows from 4 to 5.
  const one = serializer === 'msgpack' ? 0x91 : 0x81;
  const bytes = Buffer.from(head as Buffer);
  bytes[0] = bytes[0]! + 1;
  return Buffer.concat([bytes, Buffer.from([one]), Buffer.alloc(depth, one), Buffer.from([0])]);
}

/** One CALL of `shape` to `procedure`, at most `maxBytes` long. */
export function hostileCall(shape: HostileShape, serializer: SerializerName, request: number, procedure: string, maxBytes: number): Buffer | string {
  if (shape === 'deep-nesting') return deepFrame(serializer, request, procedure, Math.min(100_000, maxBytes - HEADER_ROOM));
  return SERIALIZERS[serializer].encode([48, request, {}, procedure, args(shape, serializer, maxBytes)]);
}
