/**
 * URI validation (wamp-spec §4.1). The loose rules are the MUST; the pattern chosen depends on the
 * match policy: exact URIs have no empty component, prefix patterns may end empty, wildcard
 * patterns may have empty components anywhere.
 */

export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';

const LOOSE: Record<MatchPolicy, RegExp> = {
  exact: /^([^\s.#]+\.)*([^\s.#]+)$/,
  prefix: /^([^\s.#]+\.)*([^\s.#]*)$/,
  wildcard: /^(([^\s.#]+\.)|\.)*([^\s.#]+)?$/,
};

/** Bounds checked before any regex or matcher sees the URI, so a hostile URI costs O(limit). */
export interface UriLimits {
  maxUriLength: number;
  maxUriComponents: number;
}

export const DEFAULT_URI_LIMITS: UriLimits = { maxUriLength: 512, maxUriComponents: 64 };

export function isValidUri(uri: unknown, match: MatchPolicy = 'exact', limits: UriLimits = DEFAULT_URI_LIMITS): uri is string {
  if (typeof uri !== 'string') return false;
  if (uri.length > limits.maxUriLength) return false;
  if (countComponents(uri) > limits.maxUriComponents) return false;
  if (match === 'exact' && uri.length === 0) return false;
  return LOOSE[match].test(uri);
}

function countComponents(uri: string): number {
  let count = 1;
  for (let i = 0; i < uri.length; i++) if (uri.charCodeAt(i) === 46) count++;
  return count;
}

/** The `wamp.` namespace belongs to the router (meta API); clients may not register or publish there. */
export function isReservedUri(uri: string): boolean {
  return uri === 'wamp' || uri.startsWith('wamp.');
}

export function isMatchPolicy(value: unknown): value is MatchPolicy {
  return value === 'exact' || value === 'prefix' || value === 'wildcard';
}
