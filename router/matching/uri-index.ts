/**
 * URI pattern index shared by the broker (every matching subscription), the dealer (the one best
 * registration, §8.3) and role permissions (every matching rule, ranked by realms/rule-precedence.ts,
 * not by §8.3). Semantics: wamp-spec §7.2 and §8.3.
 */

import type { MatchPolicy } from '../protocol/uri.js';

/** Character-trie node for prefix patterns. `value !== undefined` marks a stored pattern. */
interface CharNode<T> {
  children: Map<number, CharNode<T>> | undefined;
  value: T | undefined;
  /** The pattern stored here, kept so entries() need not rebuild it from the path. */
  key: string;
}

/** Component-trie node for wildcard patterns; the empty component is the `wild` edge. */
interface WildNode<T> {
  literal: Map<string, WildNode<T>> | undefined;
  wild: WildNode<T> | undefined;
  value: T | undefined;
  key: string;
}

const DOT = 46; // '.'

function charNode<T>(): CharNode<T> {
  return { children: undefined, value: undefined, key: '' };
}

function wildNode<T>(): WildNode<T> {
  return { literal: undefined, wild: undefined, value: undefined, key: '' };
}

function componentCount(uri: string): number {
  let count = 1;
  for (let i = 0; i < uri.length; i++) if (uri.charCodeAt(i) === DOT) count++;
  return count;
}

/**
 * Values keyed by (uri, match policy), with the two lookups routing needs:
 *
 * - {@link UriIndex.matchAll}: every value whose pattern matches a concrete URI (broker fan-out);
 * - {@link UriIndex.bestMatch}: the single value the dealer must pick (§8.3 precedence).
 *
 * Exact URIs live in a `Map`. Prefix patterns live in a *character* trie because WAMP prefix
 * matching is a plain string prefix (`com.a.emergency` matches `com.a.emergency-low`), so a
 * component trie would give wrong answers. Wildcard patterns live in a component trie whose empty
 * component is a separate wildcard edge. Both tries prune empty nodes on delete, so subscribe /
 * unsubscribe churn does not grow memory.
 *
 * `undefined` cannot be stored: it is the "no value" sentinel of `get` and `bestMatch`.
 */
export class UriIndex<T> {
  private readonly exact = new Map<string, T>();
  private prefixRoot: CharNode<T> = charNode();
  private prefixCount = 0;
  private wildRoot: WildNode<T> = wildNode();
  private wildCount = 0;
  /**
   * Number of wildcard patterns per component count. A wildcard only matches a URI with the same
   * component count, so this lets lookups skip `split('.')` (the only per-call allocation besides
   * the result) when no wildcard pattern can possibly match.
   */
  private readonly wildArity = new Map<number, number>();

  get size(): number {
    return this.exact.size + this.prefixCount + this.wildCount;
  }

  get(uri: string, match: MatchPolicy): T | undefined {
    switch (match) {
      case 'exact':
        return this.exact.get(uri);
      case 'prefix':
        return this.findChar(uri)?.value;
      case 'wildcard':
        return this.findWild(uri)?.value;
      default:
        return undefined;
    }
  }

  has(uri: string, match: MatchPolicy): boolean {
    return this.get(uri, match) !== undefined;
  }

  /** Stores or replaces the value for (uri, match). Throws on `undefined` or an unknown policy. */
  set(uri: string, match: MatchPolicy, value: T): void {
    if (value === undefined) throw new TypeError('UriIndex cannot store undefined');
    switch (match) {
      case 'exact':
        this.exact.set(uri, value);
        return;
      case 'prefix':
        this.setPrefix(uri, value);
        return;
      case 'wildcard':
        this.setWild(uri, value);
        return;
      default:
        // A typo'd policy from untyped config must fail loudly, not silently become "exact".
        throw new TypeError(`unknown match policy: ${String(match)}`);
    }
  }

  delete(uri: string, match: MatchPolicy): boolean {
    switch (match) {
      case 'exact':
        return this.exact.delete(uri);
      case 'prefix':
        return this.deletePrefix(uri);
      case 'wildcard':
        return this.deleteWild(uri);
      default:
        return false;
    }
  }

  clear(): void {
    this.exact.clear();
    this.prefixRoot = charNode();
    this.prefixCount = 0;
    this.wildRoot = wildNode();
    this.wildCount = 0;
    this.wildArity.clear();
  }

  /** All stored values: exact, then prefix, then wildcard. */
  *values(): IterableIterator<T> {
    for (const [, , value] of this.entries()) yield value;
  }

  /** All stored `[uri, match, value]` triples: exact, then prefix, then wildcard. */
  *entries(): IterableIterator<[string, MatchPolicy, T]> {
    for (const [uri, value] of this.exact) yield [uri, 'exact', value];
    // Explicit stacks: prefix tries are as deep as the longest pattern (up to maxUriLength).
    const chars: CharNode<T>[] = [this.prefixRoot];
    for (let node = chars.pop(); node !== undefined; node = chars.pop()) {
      if (node.value !== undefined) yield [node.key, 'prefix', node.value];
      if (node.children !== undefined) for (const child of node.children.values()) chars.push(child);
    }
    const wilds: WildNode<T>[] = [this.wildRoot];
    for (let node = wilds.pop(); node !== undefined; node = wilds.pop()) {
      if (node.value !== undefined) yield [node.key, 'wildcard', node.value];
      if (node.literal !== undefined) for (const child of node.literal.values()) wilds.push(child);
      if (node.wild !== undefined) wilds.push(node.wild);
    }
  }

  /**
   * Every value whose pattern matches the concrete `uri`, in §8.3 precedence order (best first):
   * the exact entry, then prefix patterns longest first, then wildcard patterns best first. So
   * `matchAll(uri)[0] === bestMatch(uri)` always holds.
   */
  matchAll(uri: string): T[] {
    const out: T[] = [];
    const exact = this.exact.get(uri);
    if (exact !== undefined) out.push(exact);
    if (this.prefixCount !== 0) this.collectPrefixes(uri, out);
    if (this.wildCount !== 0) {
      const parts = this.wildParts(uri);
      if (parts !== undefined) collectWild(this.wildRoot, parts, 0, out);
    }
    return out;
  }

  /**
   * The single value the dealer routes to (wamp-spec §8.3): the exact entry; else the longest
   * matching prefix pattern; else the best wildcard pattern, i.e. the one whose runs of literal
   * components, compared run by run from the left, are longest.
   */
  bestMatch(uri: string): T | undefined {
    // With no pattern entries this is a single Map hit: the common exact-only realm pays nothing.
    const exact = this.exact.get(uri);
    if (exact !== undefined) return exact;
    if (this.prefixCount !== 0) {
      const prefix = this.longestPrefix(uri);
      if (prefix !== undefined) return prefix;
    }
    if (this.wildCount !== 0) {
      const parts = this.wildParts(uri);
      if (parts !== undefined) return firstWild(this.wildRoot, parts, 0);
    }
    return undefined;
  }

  /**
   * Trie nodes currently allocated, roots excluded. Internal: tests use it to prove that delete
   * prunes, i.e. that churn returns the index to zero nodes.
   * @internal
   */
  nodeCount(): number {
    let count = 0;
    const chars: CharNode<T>[] = [this.prefixRoot];
    for (let node = chars.pop(); node !== undefined; node = chars.pop()) {
      if (node.children === undefined) continue;
      count += node.children.size;
      for (const child of node.children.values()) chars.push(child);
    }
    const wilds: WildNode<T>[] = [this.wildRoot];
    for (let node = wilds.pop(); node !== undefined; node = wilds.pop()) {
      if (node.literal !== undefined) {
        count += node.literal.size;
        for (const child of node.literal.values()) wilds.push(child);
      }
      if (node.wild !== undefined) {
        count++;
        wilds.push(node.wild);
      }
    }
    return count;
  }

  // ---- prefix (character trie) ----

  private findChar(uri: string): CharNode<T> | undefined {
    let node: CharNode<T> | undefined = this.prefixRoot;
    for (let i = 0; i < uri.length && node !== undefined; i++) node = node.children?.get(uri.charCodeAt(i));
    return node;
  }

  private setPrefix(uri: string, value: T): void {
    let node = this.prefixRoot;
    for (let i = 0; i < uri.length; i++) {
      const code = uri.charCodeAt(i);
      let next = node.children?.get(code);
      if (next === undefined) {
        next = charNode();
        (node.children ??= new Map()).set(code, next);
      }
      node = next;
    }
    if (node.value === undefined) this.prefixCount++;
    node.value = value;
    node.key = uri;
  }

  private deletePrefix(uri: string): boolean {
    const path: CharNode<T>[] = [this.prefixRoot];
    let node = this.prefixRoot;
    for (let i = 0; i < uri.length; i++) {
      const next = node.children?.get(uri.charCodeAt(i));
      if (next === undefined) return false;
      path.push(next);
      node = next;
    }
    if (node.value === undefined) return false;
    node.value = undefined;
    node.key = '';
    this.prefixCount--;
    // Prune bottom-up every node that now carries neither a value nor children.
    for (let i = uri.length; i > 0; i--) {
      const child = path[i]!;
      if (child.value !== undefined || child.children !== undefined) break;
      const parent = path[i - 1]!;
      parent.children!.delete(uri.charCodeAt(i - 1));
      if (parent.children!.size === 0) parent.children = undefined;
    }
    return true;
  }

  /** Single pass over `uri`; pushes matching prefix values longest first. */
  private collectPrefixes(uri: string, out: T[]): void {
    const start = out.length;
    let node: CharNode<T> | undefined = this.prefixRoot;
    for (let i = 0; node !== undefined; i++) {
      if (node.value !== undefined) out.push(node.value);
      if (i === uri.length) break;
      node = node.children?.get(uri.charCodeAt(i));
    }
    // The walk finds short patterns first; reverse in place to get precedence order.
    for (let lo = start, hi = out.length - 1; lo < hi; lo++, hi--) {
      const tmp = out[lo]!;
      out[lo] = out[hi]!;
      out[hi] = tmp;
    }
  }

  /**
   * The deepest valued node on the path is the longest matching prefix. §8.3 says "most
   * components"; among patterns that all prefix the same URI, a longer string never has fewer
   * components, and the longer string also breaks ties like `a.b` vs `a.bc` for `a.bc.d`.
   */
  private longestPrefix(uri: string): T | undefined {
    let best: T | undefined;
    let node: CharNode<T> | undefined = this.prefixRoot;
    for (let i = 0; node !== undefined; i++) {
      if (node.value !== undefined) best = node.value;
      if (i === uri.length) break;
      node = node.children?.get(uri.charCodeAt(i));
    }
    return best;
  }

  // ---- wildcard (component trie) ----

  private wildParts(uri: string): string[] | undefined {
    return this.wildArity.has(componentCount(uri)) ? uri.split('.') : undefined;
  }

  private findWild(uri: string): WildNode<T> | undefined {
    let node: WildNode<T> | undefined = this.wildRoot;
    for (const part of uri.split('.')) {
      if (node === undefined) return undefined;
      node = part === '' ? node.wild : node.literal?.get(part);
    }
    return node;
  }

  private setWild(uri: string, value: T): void {
    const parts = uri.split('.');
    let node = this.wildRoot;
    for (const part of parts) {
      let next = part === '' ? node.wild : node.literal?.get(part);
      if (next === undefined) {
        next = wildNode();
        if (part === '') node.wild = next;
        else (node.literal ??= new Map()).set(part, next);
      }
      node = next;
    }
    if (node.value === undefined) {
      this.wildCount++;
      this.wildArity.set(parts.length, (this.wildArity.get(parts.length) ?? 0) + 1);
    }
    node.value = value;
    node.key = uri;
  }

  private deleteWild(uri: string): boolean {
    const parts = uri.split('.');
    const path: WildNode<T>[] = [this.wildRoot];
    let node = this.wildRoot;
    for (const part of parts) {
      const next = part === '' ? node.wild : node.literal?.get(part);
      if (next === undefined) return false;
      path.push(next);
      node = next;
    }
    if (node.value === undefined) return false;
    node.value = undefined;
    node.key = '';
    this.wildCount--;
    const arity = this.wildArity.get(parts.length)! - 1;
    if (arity === 0) this.wildArity.delete(parts.length);
    else this.wildArity.set(parts.length, arity);
    for (let i = parts.length; i > 0; i--) {
      const child = path[i]!;
      if (child.value !== undefined || child.literal !== undefined || child.wild !== undefined) break;
      const parent = path[i - 1]!;
      const part = parts[i - 1]!;
      if (part === '') parent.wild = undefined;
      else {
        parent.literal!.delete(part);
        if (parent.literal!.size === 0) parent.literal = undefined;
      }
    }
    return true;
  }
}

/**
 * Depth-first, literal edge before wildcard edge. Two wildcard patterns matching the same URI
 * first differ at a position where one has the literal and the other the wildcard; the literal
 * one has the longer literal run there, which is exactly §8.3's run-by-run comparison. So this
 * order emits matches best first, and backtracking only happens over wildcard edges.
 */
function collectWild<T>(node: WildNode<T>, parts: string[], i: number, out: T[]): void {
  if (i === parts.length) {
    if (node.value !== undefined) out.push(node.value);
    return;
  }
  const literal = node.literal?.get(parts[i]!);
  if (literal !== undefined) collectWild(literal, parts, i + 1, out);
  if (node.wild !== undefined) collectWild(node.wild, parts, i + 1, out);
}

/** Same walk as {@link collectWild}, stopping at the first (hence best) match. */
function firstWild<T>(node: WildNode<T>, parts: string[], i: number): T | undefined {
  if (i === parts.length) return node.value;
  const literal = node.literal?.get(parts[i]!);
  if (literal !== undefined) {
    const found = firstWild(literal, parts, i + 1);
    if (found !== undefined) return found;
  }
  return node.wild === undefined ? undefined : firstWild(node.wild, parts, i + 1);
}
