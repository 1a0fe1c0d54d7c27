import type { RouterConfig } from '../config.js';

/**
 * What a config reload (SIGHUP) cannot apply to a running router, as JSON paths of the settings
 * that differ from the config it started with: a listener's every key except `allowedOrigins` and
 * `requireOrigin` (its port, host, type, path, TLS files …), listeners added or removed, every
 * limit, the ops endpoint and the log level. Realms, and the two Origin keys, are applied.
 */

const RELOADABLE_LISTENER_KEYS = new Set(['allowedOrigins', 'requireOrigin']);

export function unappliedChanges(running: RouterConfig, next: RouterConfig): string[] {
  const paths: string[] = [];
  const count = Math.max(running.listeners.length, next.listeners.length);
  for (let i = 0; i < count; i++) {
    const before = running.listeners[i] as unknown as Record<string, unknown> | undefined;
    const after = next.listeners[i] as unknown as Record<string, unknown> | undefined;
    if (!before || !after) {
      paths.push(`/listeners/${i}`);
      continue;
    }
    for (const key of keys(before, after)) if (!RELOADABLE_LISTENER_KEYS.has(key)) diff(before[key], after[key], `/listeners/${i}/${key}`, paths);
  }
  diff(running.limits, next.limits, '/limits', paths);
  diff(running.ops, next.ops, '/ops', paths);
  diff(running.log, next.log, '/log', paths);
  diff(running.cluster, next.cluster, '/cluster', paths);
  return paths;
}

/** Push the path of every leaf that differs (objects key by key, anything else as a whole). */
function diff(a: unknown, b: unknown, path: string, paths: string[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const key of keys(a, b)) diff(a[key], b[key], `${path}/${key}`, paths);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    paths.push(path);
  }
}

function keys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
