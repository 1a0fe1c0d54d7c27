/**
 * One JSON line per event. Fields whose names look like credentials are redacted before writing,
 * so a careless `log.info('x', {ticket})` cannot leak a secret, and client-triggerable error
 * lines are rate limited so a flood of bad input cannot flood the log.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Like `warn`, but at most `ratePerSecond` lines per event name per second; the rest are counted. */
  limited(event: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_FIELD = /secret|ticket|signature|password|passwd|key|token|challenge|salt|authorization/i;

export function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = SECRET_FIELD.test(name) ? '[redacted]' : value;
  }
  return out;
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

  const limited = (event: string, fields?: LogFields) => {
    const t = now();
    let window = windows.get(event);
    if (!window || t - window.start >= 1000) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: t, count: 0, suppressed: 0 };
      windows.set(event, window);
      if (windows.size > 1000) windows.clear();
      if (suppressed > 0) emit('warn', 'log.suppressed', { suppressedEvent: event, count: suppressed });
    }
    if (window.count++ < ratePerSecond) emit('warn', event, fields);
    else window.suppressed++;
  };

  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    limited,
  };
}

/** A logger that drops everything; the default in tests that do not inspect logs. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
