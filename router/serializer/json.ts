import { checkMaxIdExact, type Serializer } from './serializer.js';

/**
 * `wamp.2.json`. Binary values travel as a string of U+0000 followed by standard base64
 * (wamp-spec §11.2). Reviver and replacer are costly, so they run only when the frame or the
 * message can contain binary at all.
 */

const BINARY_MARK = '\u0000';
const MAX_ID_LITERALS = ['9007199254740992'];
const ESCAPED_MARK = '\\u0000';

function reviveBinary(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) return Buffer.from(value.slice(1), 'base64');
  return value;
}

function replaceBinary(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // Buffer#toJSON has already run on `value`; the holder still has the original.
  const original = this[key];
  if (original instanceof Uint8Array) return BINARY_MARK + Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  return value;
}

/** True if a binary value occurs anywhere inside `value` (bounded depth: WAMP payloads are trees). */
export function containsBinary(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object' || depth > 64) return false;
  if (ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (containsBinary(item, depth + 1)) return true;
    return false;
  }
  for (const key in value as Record<string, unknown>) {
    if (containsBinary((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

export const jsonSerializer: Serializer = {
  name: 'json',
  subprotocol: 'wamp.2.json',
  rawSocketId: 1,
  binary: false,
  encode(message) {
    return containsBinary(message) ? JSON.stringify(message, replaceBinary) : JSON.stringify(message);
  },
  decode(frame) {
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    const value = text.includes(ESCAPED_MARK) || text.includes(BINARY_MARK) ? JSON.parse(text, reviveBinary) : JSON.parse(text);
    checkMaxIdExact(value, text, MAX_ID_LITERALS);
    return value;
  },
};
