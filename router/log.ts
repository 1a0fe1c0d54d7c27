/**
 * One JSON line per event. Secrets are redacted before writing wherever they sit in the fields
 * (nested objects and arrays too), so a careless `log.info('x', {user})` cannot leak one, and
 * client-triggerable lines are rate limited so a flood of bad input cannot flood the log.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /**
   * At `level` (default `warn`), but at most `ratePerSecond` lines per event name per second; the
   * rest are counted and reported in one `log.suppressed` line.
   */
  limited(event: string, fields?: LogFields, level?: Exclude<LogLevel, 'silent'>): void;
  /**
   * Whether a line at `level` would be written, so a hot path (a line per join) can skip building
   * its fields. Optional: a logger without it is assumed to write everything.
   */
  enabled?(level: Exclude<LogLevel, 'silent'>): boolean;
}

/**
 * The same logger with `fields` on every line (a cluster node's id, so lines from several nodes
 * can be told apart once collected); a line's own fields come after and win.
 */
export function withFields(logger: Logger, fields: LogFields): Logger {
  const merged = (own?: LogFields): LogFields => (own ? { ...fields, ...own } : fields);
  return {
    debug: (event, own) => logger.debug(event, merged(own)),
    info: (event, own) => logger.info(event, merged(own)),
    warn: (event, own) => logger.warn(event, merged(own)),
    error: (event, own) => logger.error(event, merged(own)),
    limited: (event, own, level) => logger.limited(event, merged(own), level),
    ...(logger.enabled ? { enabled: (level: Exclude<LogLevel, 'silent'>) => logger.enabled!(level) } : {}),
  };
}

/** True unless `logger` says lines at `level` are dropped. */
export function logs(logger: Logger, level: Exclude<LogLevel, 'silent'>): boolean {
  return logger.enabled?.(level) ?? true;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * Redaction goes by what a field holds, not by a substring of its name:
 * - a field is secret-bearing when its name is (or ends with) a credential word: `secret`,
 *   `password`, `ticket`, `signature`, `token`, `challenge`, `salt`, `authorization`, `cookie`,
 *   `key` (`apiKey`, `derivedKey`), `privateKey`, …;
 * - names of identifiers and flags that merely mention such a word are not: `keyId` (the HTTP
 *   bridge key's id), `pubkey`/`publicKey`, `tokenConfigured`, `credentialId`, …;
 * - under a secret-bearing name only strings and containers are redacted (whole); a boolean,
 *   number or null says whether or how many, never what (`token: false` stays).
 */
const SECRET_NAME = /(secret|password|passwd|passphrase|ticket|signature|token|challenge|salt|authorization|cookie|key)s?$/;
const NOT_SECRET = new Set(['keyid', 'keyids', 'pubkey', 'pubkeys', 'publickey', 'publickeys', 'tokenconfigured', 'credentialid']);
const REDACTED = '[redacted]';
const MAX_DEPTH = 8;

/** Whether a field of this name holds a secret (case, `_` and `-` ignored). */
export function isSecretName(name: string): boolean {
  const normal = name.toLowerCase().replace(/[_-]/g, '');
  return !NOT_SECRET.has(normal) && SECRET_NAME.test(normal);
}

export function redact(fields: LogFields): LogFields {
  return redactValue(fields, 0, new WeakSet()) as LogFields;
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[elided]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value; // Date, Buffer: written as they serialize
    const out: LogFields = {};
    for (const [name, inner] of Object.entries(value)) {
      out[name] = isSecretName(name) && holdsContent(inner) ? REDACTED : redactValue(inner, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function holdsContent(value: unknown): boolean {
  return !(value === null || value === undefined || typeof value === 'boolean' || typeof value === 'number');
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  ratePerSecond?: number;
  now?: () => number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const ratePerSecond = options.ratePerSecond ?? 10;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number; suppressed: number }>();

  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (LEVELS[level] < threshold) return;
    const line = { time: new Date(now()).toISOString(), level, event, ...(fields ? redact(fields) : {}) };
    write(JSON.stringify(line));
  };

  const limited = (event: string, fields?: LogFields, level: Exclude<LogLevel, 'silent'> = 'warn') => {
    const t = now();
    let window = windows.get(event);
    if (!window || t - window.start >= 1000) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: t, count: 0, suppressed: 0 };
      windows.set(event, window);
      if (windows.size > 1000) windows.clear();
      if (suppressed > 0) emit('warn', 'log.suppressed', { suppressedEvent: event, count: suppressed });
    }
    if (window.count++ < ratePerSecond) emit(level, event, fields);
    else window.suppressed++;
  };

  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    limited,
    enabled: (level) => LEVELS[level] >= threshold,
  };
}

/** A logger that drops everything; the default in tests that do not inspect logs. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
