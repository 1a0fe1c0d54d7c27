/**
 * Reading a config file's text: JSON with `//` and `/* *\/` comments and trailing commas allowed
 * (parsed by jsonc-parser, which reports every syntax error with its offset), and the line and
 * column of any JSON path in it, so both syntax and schema problems point at the place to edit.
 */

import { findNodeAtLocation, parse, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';

const PARSE_OPTIONS = { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false };

export interface TextPosition {
  line: number;
  column: number;
}

export type ParsedConfigText = { ok: true; data: unknown } | { ok: false; errors: string[] };

/** Parses config text; on failure, one sentence per syntax error with its line and column. */
export function parseConfigText(text: string): ParsedConfigText {
  const errors: ParseError[] = [];
  const data: unknown = parse(text, errors, PARSE_OPTIONS);
  if (errors.length === 0) return { ok: true, data };
  return {
    ok: false,
    errors: errors.map((error) => {
      const { line, column } = positionOf(text, error.offset);
      return `invalid JSON at line ${line} column ${column}: ${describeParseError(error, text)}`;
    }),
  };
}

/** Where the value at a JSON pointer (`/realms/0/name`) starts in `text`, if it exists there. */
export function locate(text: string, pointer: string): TextPosition | undefined {
  const root = parseTree(text, [], PARSE_OPTIONS);
  if (root === undefined) return undefined;
  const segments = pointer
    .split('/')
    .slice(1)
    .filter((segment) => segment !== '')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  const node = findNodeAtLocation(root, segments);
  // A key that is missing is reported on its parent object, which does exist.
  return node === undefined ? undefined : positionOf(text, node.offset);
}

export function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** jsonc-parser's codes (`PropertyNameExpected`, …) as words, with the text found there. */
function describeParseError(error: ParseError, text: string): string {
  const words = printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  const found = text.slice(error.offset, error.offset + Math.max(error.length, 1));
  return found.trim() === '' ? words : `${words} (found ${JSON.stringify(found)})`;
}
