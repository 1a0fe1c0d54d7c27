/**
 * The shape of a frame, read from its bytes without building a single value: how many values it
 * holds (map keys count as values), how deep it nests, and where its top-level elements start.
 * Decoding costs about 0.1 µs per value on this kind of machine, so the session checks the
 * `maxPayloadElements` / `maxPayloadDepth` caps (router/limits.ts) with this linear scan first and
 * never decodes a frame that would hold the event loop for long. The scan stops as soon as a
 * bound is passed, so refusing a hostile frame is cheaper still.
 */
export interface ShapeBounds {
  readonly maxElements: number;
  readonly maxDepth: number;
}

export interface FrameShape {
  /** Values seen, including containers and map keys (stops counting just past the bound). */
  elements: number;

  /** Deepest nesting seen; the message array itself is depth 1. */
  depth: number;

  /**
   * Where the first top-level elements are (at most HEAD_ELEMENTS): for msgpack and CBOR the
   * byte offset each starts at, for JSON the offset of the comma after each.
   */
  readonly starts: number[];

  /** CBOR only: an integer of 64-bit form beyond 2^53, which a number would round. */
  wideIntegers: boolean;
}

/**
 * A dict entry costs about as much to decode as this many list items (V8 builds objects with
 * thousands of keys in dictionary mode; measured with the bench's hostile shapes), so each key
 * counts as this many values.
 */
export const KEY_WEIGHT = 8;

/** Enough top-level elements to decode any message's head (ERROR's payload starts at index 5). */
const HEAD_ELEMENTS = 6;

function newShape(): FrameShape {
  return { elements: 0, depth: 0, starts: [], wideIntegers: false };
}

export function exceeds(shape: FrameShape, bounds: ShapeBounds): boolean {
  return shape.elements > bounds.maxElements || shape.depth > bounds.maxDepth;
}

export function asBytes(frame: Buffer | string): Buffer {
  return typeof frame === 'string' ? Buffer.from(frame, 'utf8') : frame;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_LIST = 0x5b;
const OPEN_DICT = 0x7b;
const CLOSE_LIST = 0x5d;
const CLOSE_DICT = 0x7d;

/**
 * JSON: every value but the first follows a `,` or `:` or opens a container, so values =
 * 1 + separators + containers − empty containers. Strings are skipped byte by byte (a quote or a
 * backslash never occurs inside a multi-byte UTF-8 sequence).
 */
export function scanJson(frame: Buffer | string, bounds: ShapeBounds): FrameShape {
  const b = asBytes(frame);
  const shape = newShape();
  const n = b.length;
  let elements = 1;
  let depth = 0;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = b[i]!;
        if (d === BACKSLASH)
          i++;
        else if (d === QUOTE)
          break;
      }
      prev = QUOTE;
      continue;
    }
    if (c <= 0x20)
      continue; // whitespace leaves `prev` alone
    if (c === COLON) {
      elements += KEY_WEIGHT; // the value, plus KEY_WEIGHT - 1 for its key (counted once already)
    } else if (c === COMMA) {
      elements++;
      if (depth === 1 && c === COMMA && shape.starts.length < HEAD_ELEMENTS)
        shape.starts.push(i);
    }
    else if (c === OPEN_LIST || c === OPEN_DICT) {
      elements++;
      if (++depth > shape.depth)
        shape.depth = depth;
    }
    else if (c === CLOSE_LIST || c === CLOSE_DICT) {
      depth--;
      if (prev === c - 2)
        elements--; // `[]` / `{}` held no value
    }
    prev = c;
    if (elements > bounds.maxElements || shape.depth > bounds.maxDepth)
      break;
  }
  shape.elements = elements;
  return shape;
}

/**
 * Container bookkeeping shared by the binary scanners: `open` holds the values still expected
 * by each open container (-1: indefinite length, closed by a CBOR break).
 */
class Nesting {
  private readonly open: number[] = [];
  constructor(private readonly shape: FrameShape) {}

  /** A value starts at `offset`: note it if it is a top-level element of the message array. */
  start(offset: number): void {
    this.shape.elements++;
    if (this.open.length === 1 && this.shape.starts.length < HEAD_ELEMENTS)
      this.shape.starts.push(offset);
  }

  /** A container whose `children` values follow (0 completes it at once, at its own depth, as in JSON). */
  container(children: number): void {
    const depth = this.open.length + 1;
    if (depth > this.shape.depth) this.shape.depth = depth;
    if (children === 0) return this.completed();
    this.open.push(children);
  }

  /** A value ended: close every container it was the last value of. */
  completed(): void {
    const open = this.open;
    while (open.length > 0) {
      const top = open.length - 1;
      if (open[top]! < 0 || --open[top]! > 0)
        return;
      open.pop();
    }
  }

  /** A map of `entries` keys and values; each key weighs KEY_WEIGHT. */
  map(entries: number): void {
    this.shape.elements += entries * (KEY_WEIGHT - 1);
    this.container(entries * 2);
  }

  /** CBOR break: the innermost indefinite container ends. */
  broke(): void {
    if (this.open[this.open.length - 1] === -1)
      this.open.pop();
    this.completed();
  }
}

function u16(b: Buffer, i: number): number {
  return i + 2 < b.length ? b.readUInt16BE(i) : 0;
}

function u32(b: Buffer, i: number): number {
  return i + 4 < b.length ? b.readUInt32BE(i) : 0;
}

/** Bytes after the type byte for msgpack's fixed-size scalars (0xc0–0xdf), -1 for variable ones. */
const MSGPACK_FIXED: Record<number, number> = {
  0xc0: 0, 0xc1: 0, 0xc2: 0, 0xc3: 0, 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,
  0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17,
};

/** bin/str/ext with a length of 1, 2 or 4 bytes: [length bytes, ext type bytes]. */
const MSGPACK_SIZED: Record<number, readonly [number, number]> = {
  0xc4: [1, 0], 0xd9: [1, 0], 0xc5: [2, 0], 0xda: [2, 0], 0xc6: [4, 0], 0xdb: [4, 0], 0xc7: [1, 1], 0xc8: [2, 1], 0xc9: [4, 1],
};

/** array16/32 and map16/32: [length bytes, kind]. */
const MSGPACK_CONTAINERS: Record<number, readonly [number, 'array' | 'map']> = {
  0xdc: [2, 'array'], 0xdd: [4, 'array'], 0xde: [2, 'map'], 0xdf: [4, 'map'],
};

/** A big-endian length of 1, 2 or 4 bytes at `i` (0 when the frame ends first). */
function lengthAt(b: Buffer, i: number, bytes: number): number {
  if (bytes === 1) return b[i] ?? 0;
  return bytes === 2 ? u16(b, i) : u32(b, i);
}

export function scanMsgpack(frame: Buffer | string, bounds: ShapeBounds): FrameShape {
  const b = asBytes(frame);
  const shape = newShape();
  const nesting = new Nesting(shape);
  const n = b.length;
  let i = 0;
  while (i < n && shape.elements <= bounds.maxElements && shape.depth <= bounds.maxDepth) {
    const t = b[i]!;
    nesting.start(i);
    if (t <= 0x7f || t >= 0xe0) {
      i += 1;
      nesting.completed();
      continue;
    }
    if (t <= 0x8f) {
      i += 1;
      nesting.map(t & 0x0f);
      continue;
    }
    if (t <= 0x9f) {
      i += 1;
      nesting.container(t & 0x0f);
      continue;
    }
    if (t <= 0xbf) {
      i += 1 + (t & 0x1f);
      nesting.completed();
      continue;
    }
    const fixed = MSGPACK_FIXED[t];
    if (fixed !== undefined) {
      i += 1 + fixed;
      nesting.completed();
      continue;
    }
    const sized = MSGPACK_SIZED[t];
    if (sized !== undefined) {
      const [lengthBytes, typeBytes] = sized;
      i += 1 + lengthBytes + typeBytes + lengthAt(b, i + 1, lengthBytes);
      nesting.completed();
      continue;
    }
    const container = MSGPACK_CONTAINERS[t];
    if (container !== undefined) {
      const [lengthBytes, kind] = container;
      const length = lengthAt(b, i + 1, lengthBytes);
      if (kind === 'map') nesting.map(length);
      else nesting.container(length);
      i += 1 + lengthBytes;
      continue;
    }
    nesting.completed();
  }
  return shape;
}

const TWO_POW_21 = 0x20_0000; // the high 32 bits of 2^53

export function scanCbor(frame: Buffer | string, bounds: ShapeBounds): FrameShape {
  const b = asBytes(frame);
  const shape = newShape();
  const nesting = new Nesting(shape);
  const n = b.length;
  let i = 0;
  while (i < n && shape.elements <= bounds.maxElements && shape.depth <= bounds.maxDepth) {
    const initial = b[i]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let argument = info;
    let head = 1;
    if (info === 24) {
      argument = b[i + 1] ?? 0;
      head = 2;
    }
    else if (info === 25) {
      argument = u16(b, i + 1);
      head = 3;
    }
    else if (info === 26) {
      argument = u32(b, i + 1);
      head = 5;
    }
    else if (info === 27) {
      const high = u32(b, i + 1);
      if (major <= 1 && high >= TWO_POW_21)
        shape.wideIntegers = true;
      argument = high * 2 ** 32 + u32(b, i + 5);
      head = 9;
    }
    else if (info > 27 && info < 31)
      break; // malformed: the decoder will say so
    const indefinite = info === 31;
    if (major === 6) {
      i += head;
      continue;
    } // a tag annotates the value that follows
    if (major === 7 && indefinite) {
      i += 1;
      nesting.broke();
      continue;
    }
    nesting.start(i);
    i += head;
    if (major === 4 || major === 5) {
      if (major === 5 && !indefinite) nesting.map(argument);
      else nesting.container(indefinite ? -1 : argument);
      continue;
    }
    if ((major === 2 || major === 3) && indefinite) {
      nesting.container(-1);
      continue;
    } // chunked string
    if (major === 2 || major === 3)
      i += argument;
    nesting.completed();
  }
  return shape;
}

/**
 * The first `count` top-level elements as a frame of their own (a list of `count`), so a refused
 * message's head (type, request ID, options) can still be decoded to answer it.
 */
export function jsonHead(frame: Buffer | string, shape: FrameShape, count: number): string {
  const end = shape.starts[count - 1];
  if (end === undefined)
    return '[]';
  const text = typeof frame === 'string' ? frame.slice(0, end) : frame.toString('utf8', 0, end);
  return `${text}]`;
}

/** Same for msgpack and CBOR: `listHeader` is the format's small-list type byte (0x90, 0x80). */
export function binaryHead(frame: Buffer | string, shape: FrameShape, count: number, listHeader: number): Buffer {
  const start = shape.starts[0];
  const end = shape.starts[count];
  if (start === undefined || end === undefined)
    return Buffer.from([listHeader]);
  return Buffer.concat([Buffer.from([listHeader | count]), asBytes(frame).subarray(start, end)]);
}
