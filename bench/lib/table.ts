/**
 * Plain-text table output for the bench: numbers with thousands separators and a sensible
 * number of significant digits, ratios as "0.85x", and columns padded to their widest cell.
 */

export const MISSING = '-';

/** 31234.5 → "31,235"; 12.345 → "12.3"; 0.01234 → "0.0123"; undefined/NaN → "-". */
export function formatNumber(value: number | undefined, significant = 3): string {
  if (value === undefined || !Number.isFinite(value)) return MISSING;
  const abs = Math.abs(value);
  if (abs >= 1000 || Number.isInteger(value)) return Math.round(value).toLocaleString('en-US');
  if (abs === 0) return '0';
  const digits = Math.max(0, significant - 1 - Math.floor(Math.log10(abs)));
  return value.toFixed(Math.min(digits, 6));
}

/** 0.8512 → "0.85x"; undefined → "-". */
export function formatRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return MISSING;
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return MISSING;
  const abs = Math.abs(bytes);
  if (abs >= 1024 * 1024) return `${formatNumber(bytes / (1024 * 1024))} MiB`;
  if (abs >= 1024) return `${formatNumber(bytes / 1024)} KiB`;
  return `${Math.round(bytes)} B`;
}

export type Align = 'left' | 'right';

/**
 * Columns padded to their widest cell, a dashed rule under the header. Cells default to
 * right-aligned except the first column; rows shorter than the header are padded with "".
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const alignOf = (i: number): Align => align?.[i] ?? (i === 0 ? 'left' : 'right');
  const line = (cells: readonly string[]) =>
    widths.map((w, i) => {
      const cell = cells[i] ?? '';
      return alignOf(i) === 'left' ? cell.padEnd(w) : cell.padStart(w);
    }).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table as GitHub markdown (for bench/README.md). */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const alignOf = (i: number): Align => align?.[i] ?? (i === 0 ? 'left' : 'right');
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (alignOf(i) === 'left' ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${header.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`),
  ].join('\n');
}
