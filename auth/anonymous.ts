import { randomInt } from 'node:crypto';
import { welcome, type Authenticator, type HelloOutcome } from './authenticator.js';

// Crossbar's alphabet for anonymous authids: no characters that are easy to confuse.
const ALPHABET = '345679ACEFGHJKLMNPQRSTUVWXY';

/** A random authid like `YRAC-EL4X-FQQE-AW4T-WNUV-VN6T` (wamp-spec §6.1, Crossbar's format). */
export function randomAuthid(): string {
  const groups: string[] = [];
  for (let g = 0; g < 6; g++) {
    let group = '';
    for (let i = 0; i < 4; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * `anonymous`: exists only where a realm's config enables it. Whatever authid or authrole the
 * client asks for, it gets a random authid and the configured role.
 */
export class AnonymousAuthenticator implements Authenticator {
  readonly authmethod = 'anonymous';
  constructor(private readonly role: string) {}

  hello(): HelloOutcome {
    return welcome({ authid: randomAuthid(), authrole: this.role, authmethod: 'anonymous', authprovider: 'static' });
  }
}
