import type { MatchPolicy } from '../../router/protocol/uri.js';

/**
 * WAMP pattern matching written straight from the spec (wamp-spec §7.2), sharing no code with the
 * router: an oracle for property tests. Exact is equality, prefix a plain string prefix, wildcard
 * equal component counts with empty pattern components matching any one component.
 */
export function specMatches(pattern: string, match: MatchPolicy, uri: string): boolean {
  if (match === 'exact') return pattern === uri;
  if (match === 'prefix') return uri.startsWith(pattern);
  const p = pattern.split('.');
  const u = uri.split('.');
  return p.length === u.length && p.every((c, i) => c === '' || c === u[i]);
}
