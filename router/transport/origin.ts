import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.js';

/**
 * Which browser pages may use a listener (CSWSH: a page on a foreign origin must not ride the
 * user's cookies into the router). A request passes when
 * 1. it has no Origin header (not a browser) and `requireOrigin` is false; or
 * 2. `allowedOrigins` contains "*"; or
 * 3. its Origin, normalized as browsers send it (lowercase scheme and host, default port left out),
 *    equals an entry of `allowedOrigins` normalized the same way: scheme, host and port all count;
 *    or
 * 4. its Origin's host:port equals the request's Host header (the page came from the very host
 *    and port the client connected to), whatever the scheme.
 * There are no other wildcards: the config check refuses `https://*.example.com`.
 * The rules can change on a config reload (SIGHUP).
 */

export interface OriginRules {
  allowedOrigins: string[];
  requireOrigin: boolean;
}

/** `scheme://host[:port]` as a browser sends it, or undefined when `value` is not one. */
export function normalizeOrigin(value: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s?#]+$/.test(value) || value.includes('*')) return undefined;
  try {
    const url = new URL(value);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

export class OriginPolicy {
  private allowed = new Set<string>();
  private any = false;
  private requireOrigin = false;

  /**
   * @param setting where these rules live in the config (`listeners[0]`) or the API, for the hint
   * @param address the listener's host:port once bound, for the log line
   */
  constructor(rules: OriginRules, readonly setting: string, public address = '') {
    this.update(rules);
  }

  /** New rules (config reload); connections already open are not affected. */
  update(rules: OriginRules): void {
    this.any = rules.allowedOrigins.includes('*');
    this.allowed = new Set(rules.allowedOrigins.map((o) => normalizeOrigin(o) ?? o));
    this.requireOrigin = rules.requireOrigin;
  }

  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return !this.requireOrigin;
    if (this.any) return true;
    const normalized = normalizeOrigin(origin);
    if (normalized !== undefined && this.allowed.has(normalized)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /** True when allowed; else logs `listener.origin_refused` with the setting to change. */
  check(req: IncomingMessage, logger: Logger): boolean {
    if (this.allows(req)) return true;
    const origin = req.headers.origin;
    const hint = origin === undefined
      ? `the request has no Origin header and ${this.setting}.requireOrigin is true`
      : normalizeOrigin(origin) === undefined
        ? `the Origin ${JSON.stringify(origin)} is not scheme://host[:port] (a sandboxed or file: page); only "*" in ${this.setting}.allowedOrigins admits it`
        : `add ${JSON.stringify(normalizeOrigin(origin))} to ${this.setting}.allowedOrigins`;
    logger.limited('listener.origin_refused', { listener: this.setting, address: this.address, origin, peer: req.socket.remoteAddress, hint });
    return false;
  }
}
