/**
 * ajv's validation errors as sentences a person can act on: an unknown key gets "did you mean"
 * when a known key at the same place is close, and a string that does not fit its pattern is told
 * what the value should look like instead of being shown a regular expression.
 */

import type { ErrorObject } from 'ajv';

export interface ConfigProblem {
  /** JSON pointer of the offending value, e.g. `/realms/0/roles/1/name`. */
  path: string;
  message: string;
}

/**
 * What each schema pattern means. Keyed by the pattern text so the schema stays plain JSON Schema;
 * a unit test checks that every pattern in the router's schema has an entry here.
 */
export const PATTERN_SENTENCES: Readonly<Record<string, string>> = {
  '^\\S+$': 'must not be empty or contain spaces',
  '^/\\S*$': 'a path starts with "/" and has no spaces',
  '^(\\*|[A-Za-z][A-Za-z0-9+.\\-]*://[^/\\s*]+)$':
    'an origin is scheme://host[:port] with no path, not even a trailing "/" (e.g. "http://127.0.0.1:3000"), or "*" alone for any origin; there are no wildcards inside an origin',
  '^[A-Za-z0-9+/]+={0,2}$': 'a key is base64 text (A-Z, a-z, 0-9, "+" and "/", up to two "=" at the end), as printed by switchyard derive-key',
  '^[0-9a-fA-F]{64}$': 'an Ed25519 public key is 64 hexadecimal characters',
  '^[A-Za-z][A-Za-z0-9_\\-@.]{2,254}$': 'a realm name starts with a letter and has 3 to 255 letters, digits, "_", "-", "@" or "."',
  '^[\\x21-\\x7e]+$': 'a token is printable ASCII with no spaces',
  '^(nats|tls)://[^/\\s]+$': 'a NATS URL is nats://host:port or tls://host:port, with no path (e.g. "nats://127.0.0.1:4222")',
  '^[A-Za-z0-9_-]{1,32}$': 'a node id is 1 to 32 letters, digits, "_" or "-"',
  '^[A-Za-z][A-Za-z0-9_-]{0,15}$': 'a prefix starts with a letter and has at most 16 letters, digits, "_" or "-"',
};

export function describeSchemaError(error: ErrorObject): ConfigProblem {
  const path = error.instancePath || '/';
  const params = error.params as Record<string, unknown>;
  const got = `(got ${JSON.stringify(error.data)})`;
  switch (error.keyword) {
    case 'additionalProperties':
      return { path, message: unknownKey(String(params.additionalProperty), knownKeys(error.parentSchema)) };
    case 'required':
      return { path, message: `missing required key ${JSON.stringify(params.missingProperty)}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { path, message: `must be one of ${allowed} ${got}` };
    }
    case 'pattern': {
      const sentence = PATTERN_SENTENCES[String(params.pattern)] ?? `must match ${String(params.pattern)}`;
      return { path, message: `${sentence} ${got}` };
    }
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'maxLength':
      return { path, message: `${error.message ?? error.keyword} ${got}` };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

function knownKeys(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties === undefined ? [] : Object.keys(properties);
}

function unknownKey(key: string, known: readonly string[]): string {
  const suggestion = closest(key, known);
  return suggestion === undefined
    ? `unknown key ${JSON.stringify(key)}`
    : `unknown key ${JSON.stringify(key)}; did you mean ${JSON.stringify(suggestion)}?`;
}

/**
 * The known key nearest to `key`, if near enough to be a slip: case differences are free, and up to
 * a third of the key's length in edits (at least one, at most three) is allowed.
 */
export function closest(key: string, known: readonly string[]): string | undefined {
  const budget = Math.min(3, Math.max(1, Math.floor(key.length / 3)));
  let best: string | undefined;
  let bestDistance = budget + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions (a swapped pair of letters is one slip). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = value;
    }
  }
  return d[rows * cols - 1]!;
}
