import { readFileSync } from 'node:fs';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import type { TlsConfig } from '../config.js';

/** A PEM value in the config, or the path of a file holding it. */
function pem(value: string): string {
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

export function loadTlsOptions(tls: TlsConfig): SecureContextOptions & { minVersion: SecureVersion } {
  return {
    key: pem(tls.key),
    cert: pem(tls.cert),
    ...(tls.ca ? { ca: pem(tls.ca) } : {}),
    minVersion: tls.minVersion as SecureVersion,
  };
}
