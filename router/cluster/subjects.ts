/**
 * NATS subjects and KV keys for the cluster (design: shared/cluster-nats.md §3.2).
 *
 * The NATS client does not validate what it publishes (a space splits a subject into subject and
 * reply, `a..b` vanishes, `*` is taken literally), so every WAMP URI component goes through one total
 * encoding before it touches a subject: `[A-Za-z0-9_-]` stay, every other UTF-8 byte becomes `=` and
 * two upper-case hex digits. The result is a valid subject token and KV key segment, never empty
 * for a non-empty component, never `*` or `>`. Subjects are write-only routing keys: messages carry
 * the original URI, so nothing ever decodes a subject.
 */

import type { MatchPolicy } from '../protocol/uri.js';

const KEEP = /^[A-Za-z0-9_-]$/;
const HEX = '0123456789ABCDEF';

/** The token for one URI component (or for a whole realm name, whose dots are escaped too). */
export function encodeToken(text: string): string {
  let out = '';
  for (const char of text) {
    if (KEEP.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** Inverse of {@link encodeToken}: subjects are never decoded, KV keys of the auth bucket are. */
export function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; ) {
    if (token[i] === '=') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(token.charCodeAt(i));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface SubjectScheme {
  /** First token of every subject and KV key; several clusters can share one NATS account. */
  prefix: string;
}

/** `<prefix>.r.<realm>.e.<E(c1)>.<E(c2)>…`: where an event of `uri` on `realm` is published. */
export function eventSubject(scheme: SubjectScheme, realm: string, uri: string): string {
  return `${eventRoot(scheme, realm)}.${uri.split('.').map(encodeToken).join('.')}`;
}

/**
 * The NATS subscription that receives every event a WAMP subscription (uri, match) matches, and
 * whether a local check must still filter what arrives (a string prefix that stops inside a
 * component: `com.app.us` must get `com.app.users` but not `com.app.u`).
 */
export function subscriptionSubject(scheme: SubjectScheme, realm: string, uri: string, match: MatchPolicy): { subject: string; filter: boolean } {
  const root = eventRoot(scheme, realm);
  switch (match) {
    case 'exact':
      return { subject: eventSubject(scheme, realm, uri), filter: false };
    case 'wildcard':
      // A WAMP empty component matches exactly one component, which is NATS's `*`.
      return { subject: `${root}.${uri.split('.').map((c) => (c === '' ? '*' : encodeToken(c))).join('.')}`, filter: false };
    case 'prefix': {
      const components = uri.split('.');
      // The components before the last are whole and become tokens; `>` takes one or more tokens
      // after them. The last component may be partial (`us` of `com.app.us`), so unless it is
      // empty (a prefix ending in `.`) the receiver checks the string prefix itself.
      const fixed = components.slice(0, -1).map(encodeToken);
      const subject = fixed.length === 0 ? `${root}.>` : `${root}.${fixed.join('.')}.>`;
      return { subject, filter: components[components.length - 1] !== '' };
    }
  }
}

function eventRoot(scheme: SubjectScheme, realm: string): string {
  return `${realmRoot(scheme, realm)}.e`;
}

/**
 * `<prefix>.r.<realm>`: the second token says which namespace follows (`r` realms, `n` nodes, `hb`
 * heartbeats), so no realm name, node id or URI can make one subject stand for another (without
 * it, realm `n` and topic `rpc` were node `e`'s invocation subject).
 */
function realmRoot(scheme: SubjectScheme, realm: string): string {
  return `${scheme.prefix}.r.${encodeToken(realm)}`;
}

/** Invocations, progressive chunks and cancels for the callees on `node`. */
export function nodeRpcSubject(scheme: SubjectScheme, node: string): string {
  return `${scheme.prefix}.n.${encodeToken(node)}.rpc`;
}

/** Results, progress and errors for calls that `node` originated. */
export function nodeResultSubject(scheme: SubjectScheme, node: string): string {
  return `${scheme.prefix}.n.${encodeToken(node)}.res`;
}

export function heartbeatSubject(scheme: SubjectScheme, node: string): string {
  return `${scheme.prefix}.hb.${encodeToken(node)}`;
}

/** Every node's heartbeats. */
export function heartbeatWildcard(scheme: SubjectScheme): string {
  return `${scheme.prefix}.hb.*`;
}

export function metaSubject(scheme: SubjectScheme, realm: string): string {
  return `${realmRoot(scheme, realm)}.meta`;
}

/** Auth changes settled across nodes: "have you applied these revisions?" (router/cluster/auth-link.ts). */
export function authSyncSubject(scheme: SubjectScheme, realm: string): string {
  return `${realmRoot(scheme, realm)}.auth`;
}
