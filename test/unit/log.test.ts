import { expect } from 'chai';
import { createLogger, isSecretName, type LogFields, type Logger } from '../../router/log.js';

/**
 * The logger redacts secrets itself (issue 13.7, 14.3): at every level and on the rate-limited
 * path, at the top level and nested in objects and arrays, by what a field holds; identifiers and
 * flags that merely mention a credential word (keyId, tokenConfigured, pubkey) stay readable.
 */

const SECRETS = {
  secret: 'S3cr3t-top-level-Aa1', password: 'pw-top-level-Bb2', ticket: 'ticket-top-level-Cc3', signature: 'sig-top-level-Dd4',
  token: 'token-top-level-Ee5', challenge: '{"nonce":"challenge-top-level-Ff6"}', key: 'key-top-level-Gg7', salt: 'salt-top-level-Hh8',
  authorization: 'Bearer authz-top-level-Ii9', apiKey: 'apikey-top-level-Jj0', client_secret: 'snake-secret-Kk1', 'x-api-token': 'dash-token-Ll2',
};
const NESTED_SECRETS = ['nested-secret-Mm3', 'nested-ticket-Nn4', 'array-password-Oo5', 'deep-key-Pp6', 'whole-object-Qq7'];

function fieldsWithSecrets(): LogFields {
  return {
    ...SECRETS,
    user: { authid: 'peter', secret: NESTED_SECRETS[0], extra: { ticket: NESTED_SECRETS[1] } },
    users: [{ authid: 'a', password: NESTED_SECRETS[2] }, { authid: 'b', deeper: { deepest: { privateKey: NESTED_SECRETS[3] } } }],
    credential: { token: { value: NESTED_SECRETS[4] } },
    // Harmless fields, some with credential words in their names.
    realm: 'realm1', authid: 'peter', peer: '127.0.0.1:5555', count: 3, ok: true, none: null,
    keyId: 'backend-key-1', tokenConfigured: false, token_present: true, pubkey: 'ab'.repeat(32), credentialId: 'c-123',
    list: [1, 'two', { three: 3 }], when: new Date(0),
  };
}

function capture(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level, write: (line) => lines.push(line), ratePerSecond: 2 }), lines };
}

function expectRedacted(line: string): void {
  for (const secret of [...Object.values(SECRETS), ...NESTED_SECRETS]) {
    expect(line.includes(secret), `raw secret ${secret} in ${line}`).to.equal(false);
  }
  const parsed = JSON.parse(line);
  for (const name of Object.keys(SECRETS)) expect(parsed[name], name).to.equal('[redacted]');
  expect(parsed.user).to.deep.equal({ authid: 'peter', secret: '[redacted]', extra: { ticket: '[redacted]' } });
  expect(parsed.users).to.deep.equal([{ authid: 'a', password: '[redacted]' }, { authid: 'b', deeper: { deepest: { privateKey: '[redacted]' } } }]);
  expect(parsed.credential).to.deep.equal({ token: '[redacted]' });
  expect(parsed).to.include({
    realm: 'realm1', authid: 'peter', peer: '127.0.0.1:5555', count: 3, ok: true, none: null,
    keyId: 'backend-key-1', tokenConfigured: false, token_present: true, pubkey: 'ab'.repeat(32), credentialId: 'c-123',
    when: '1970-01-01T00:00:00.000Z',
  });
  expect(parsed.list).to.deep.equal([1, 'two', { three: 3 }]);
}

describe('log: redaction', function () {
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    it(`${level}: secret-bearing fields are redacted at the top level and nested; harmless fields unchanged`, function () {
      const { logger, lines } = capture();
      logger[level]('test.event', fieldsWithSecrets());
      expect(lines).to.have.length(1);
      expect(JSON.parse(lines[0]!)).to.include({ level, event: 'test.event' });
      expectRedacted(lines[0]!);
    });
  }

  for (const level of [undefined, 'info', 'warn'] as const) {
    it(`limited (${level ?? 'default warn'}): redacted too, at its level, and the overflow is counted without fields`, function () {
      let now = 0;
      const lines: string[] = [];
      const logger = createLogger({ level: 'debug', write: (line) => lines.push(line), ratePerSecond: 2, now: () => now });
      for (let i = 0; i < 5; i++) logger.limited('test.flood', fieldsWithSecrets(), level);
      now = 1500;
      logger.limited('test.flood', fieldsWithSecrets(), level);
      const flood = lines.map((l) => JSON.parse(l));
      expect(flood.map((l) => l.event)).to.deep.equal(['test.flood', 'test.flood', 'log.suppressed', 'test.flood']);
      expect(flood[2]).to.include({ suppressedEvent: 'test.flood', count: 3 });
      expect(flood[0].level).to.equal(level ?? 'warn');
      for (const line of lines.filter((l) => JSON.parse(l).event === 'test.flood')) expectRedacted(line);
    });
  }

  it('an absent ops token (a boolean) and the HTTP bridge key id are not secrets; a key is', function () {
    const { logger, lines } = capture();
    logger.info('ops.listening', { token: false });
    logger.info('http.refused', { keyId: 'svc-key', key: 'the-key-secret-Rr8' });
    expect(JSON.parse(lines[0]!).token).to.equal(false);
    expect(JSON.parse(lines[1]!)).to.include({ keyId: 'svc-key', key: '[redacted]' });
  });

  it('a cyclic or very deep structure is written without hanging and without leaking', function () {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop', secret: 'cyclic-secret-Ss9' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { password: 'deep-password-Tt0' };
    for (let i = 0; i < 20; i++) deep = { inner: deep };
    logger.info('odd', { cyclic, deep });
    expect(lines[0]).to.not.include('cyclic-secret-Ss9');
    expect(lines[0]).to.not.include('deep-password-Tt0');
    expect(JSON.parse(lines[0]!).cyclic).to.include({ name: 'loop', self: '[elided]' });
  });

  it('isSecretName: by what the name says the field holds', function () {
    for (const name of ['secret', 'Secret', 'password', 'ticket', 'signature', 'token', 'accessToken', 'challenge', 'key', 'apiKey', 'privateKey', 'salt', 'authorization', 'cookie', 'client_secret', 'tickets']) {
      expect(isSecretName(name), name).to.equal(true);
    }
    for (const name of ['keyId', 'key_id', 'pubkey', 'publicKey', 'tokenConfigured', 'credentialId', 'authid', 'realm', 'peer', 'monkeys_count', 'keyboard']) {
      expect(isSecretName(name), name).to.equal(false);
    }
  });

  it('below the threshold nothing is written', function () {
    const { logger, lines } = capture('info');
    logger.debug('hidden', fieldsWithSecrets());
    expect(lines).to.deep.equal([]);
  });
});
