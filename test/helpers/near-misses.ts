/**
 * Wrong credentials that differ from the right one as little as possible (issue 13.7): a
 * comparison that checks only a prefix, only the length, ignores case, or accepts an empty
 * value lets at least one of these in.
 */
export function nearMisses(right: string): Record<string, string> {
  const last = right.at(-1)!;
  return {
    empty: '',
    'one character short': right.slice(0, -1),
    'one character long': right + last,
    'same length, last character changed': right.slice(0, -1) + (last === 'x' ? 'y' : 'x'),
    'other case': right === right.toUpperCase() ? right.toLowerCase() : right.toUpperCase(),
    'first 4 characters': right.slice(0, 4),
    'trailing newline': right + '\n',
  };
}
