import { randomBytes } from 'node:crypto';
import { jsonHead, scanJson } from './shape.js';
import { checkMaxIdExact, UncarriableValue, type Serializer } from './serializer.js';

/**
 * `wamp.2.json`. Binary values travel as a string of U+0000 followed by standard base64
 * (wamp-spec §11.2). A BigInt (from a CBOR bignum or a msgpack 64-bit integer) is written as an
 * exact integer literal, as Crossbar does; the receiver's JSON library decides what it becomes
 * (JavaScript's `JSON.parse` rounds it to a double). NaN and ±Infinity have no JSON form, so a
 * message holding one cannot be delivered to a JSON session.
 *
 * Replacer and reviver are costly, so they run only when the frame or the message holds such a
 * value. Payload containers decoded from a JSON frame without binary are known to hold none and
 * are not walked again when they are forwarded to another JSON session.
 */

const BINARY_MARK = '\u0000';
const MAX_ID_LITERALS = ['9007199254740992'];
const ESCAPED_MARK = '\\u0000';

/** Containers that came from plain JSON: no binary, BigInt or non-finite number inside. */
const JSON_SAFE = new WeakSet<object>();
/**
 * Only frames at least this long mark their containers: a WeakSet insertion costs more than
 * walking a small payload again (it was 10 % of the router's CPU in the rpc bench), while for
 * large payloads the saved walk is what keeps one message from holding the event loop.
 */
const MARK_SAFE_MIN_LENGTH = 8192;

// A BigInt is stringified as this mark plus its digits, then the quoted mark is replaced by the
// bare digits. The random part keeps a client's own string from ever looking like the mark.
const BIGINT_MARK = `\u0001${randomBytes(12).toString('hex')}:`;
const QUOTED_BIGINT = new RegExp(`"\\\\u0001${BIGINT_MARK.slice(1)}(-?\\d+)"`, 'g');

function reviveBinary(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) return Buffer.from(value.slice(1), 'base64');
  return value;
}

/**
 * Binary and BigInt replaced by their marked strings, copy-on-write. Not a JSON.stringify
 * replacer: by the time a replacer sees a Buffer, Buffer#toJSON has already turned it into an
 * array of one number per byte (about 70 ms for 700 KB).
 */
function replaceSpecials(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return BIGINT_MARK + value.toString();
  if (value === null || typeof value !== 'object' || depth > 64 || JSON_SAFE.has(value)) return value;
  if (value instanceof Uint8Array) return BINARY_MARK + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const replaced = replaceSpecials(value[i], depth + 1);
      if (replaced !== value[i]) (copy ??= value.slice())[i] = replaced;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in record) {
    const replaced = replaceSpecials(record[key], depth + 1);
    if (replaced !== record[key]) (copy ??= { ...record })[key] = replaced;
  }
  return copy ?? value;
}

const BINARY = 1;
const BIGINT = 2;
const NON_FINITE = 4;

/** Which special values occur inside `value` (bounded depth: payload depth is capped below it). */
function specials(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'bigint': return BIGINT;
    case 'number': return Number.isFinite(value) ? 0 : NON_FINITE;
    case 'object': break;
    default: return 0;
  }
  if (value === null || depth > 64 || JSON_SAFE.has(value)) return 0;
  if (ArrayBuffer.isView(value)) return BINARY;
  let found = 0;
  if (Array.isArray(value)) {
    for (const item of value) found |= specials(item, depth + 1);
    return found;
  }
  for (const key in value as Record<string, unknown>) found |= specials((value as Record<string, unknown>)[key], depth + 1);
  return found;
}

function markSafe(message: unknown): void {
  if (!Array.isArray(message)) return;
  for (const item of message) if (typeof item === 'object' && item !== null) JSON_SAFE.add(item);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The text of a message's top-level elements from `index` on (up to the closing bracket). Only
 * called on text JSON.parse accepted as a list that long, so the walk needs no error handling:
 * it skips strings and counts the commas at depth 1.
 */
function payloadSection(text: string, index: number): string {
  let depth = 0;
  let commas = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === COMMA && depth === 1 && ++commas === index) break;
  }
  return text.slice(i + 1, text.lastIndexOf(']'));
}

/** One head element (a type code, an ID, a details dict, an error URI) as JSON. */
function headItem(item: unknown): string {
  if (typeof item === 'number' && Number.isSafeInteger(item)) return String(item);
  if (typeof item === 'object' && item !== null && isEmptyDict(item)) return '{}';
  return (jsonSerializer.encode([item]) as string).slice(1, -1);
}

function isEmptyDict(value: object): boolean {
  if (Array.isArray(value)) return false;
  for (const _ in value) return false;
  return true;
}

export const jsonSerializer: Serializer = {
  name: 'json',
  subprotocol: 'wamp.2.json',
  rawSocketId: 1,
  binary: false,
  encode(message) {
    const found = specials(message);
    if (found === 0) return JSON.stringify(message);
    if (found & NON_FINITE) throw new UncarriableValue('NaN or Infinity cannot be carried by JSON');
    const text = JSON.stringify(replaceSpecials(message));
    return found & BIGINT ? text.replace(QUOTED_BIGINT, '$1') : text;
  },
  decode(frame) {
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    const binary = text.includes(ESCAPED_MARK) || text.includes(BINARY_MARK);
    const value = binary ? JSON.parse(text, reviveBinary) : JSON.parse(text);
    if (!binary && text.length >= MARK_SAFE_MIN_LENGTH) markSafe(value);
    checkMaxIdExact(value, text, MAX_ID_LITERALS);
    return value;
  },
  payloadSection(frame, index) {
    return payloadSection(typeof frame === 'string' ? frame : frame.toString('utf8'), index);
  },
  encodeAround(head, section) {
    let text = '[';
    for (const item of head) text += headItem(item) + ',';
    return text + section + ']';
  },
  scan: scanJson,
  // Every value takes a byte and a separator, every level a bracket pair, a key (weight 8) with
  // its value at least `"":0,` (5 bytes): at most 1.8 per byte (shape-density.test.ts).
  density: { weightPerByte: 2, depthPerByte: 0.5 },
  head: jsonHead,
};
