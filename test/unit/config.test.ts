import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile, validateConfig } from '../../router/config.js';
import { DEFAULT_LIMITS, LIMIT_SPECS, type LimitName } from '../../router/limits.js';

/** A small valid config; each invalid case below breaks one thing in a fresh copy of it. */
function baseConfig(): Record<string, any> {
  return {
    listeners: [{ type: 'websocket', host: '127.0.0.1', port: 9000 }],
    realms: [
      {
        name: 'realm1',
        roles: [
          {
            name: 'anonymous',
            permissions: [
              { uri: 'com.example.', match: 'prefix', allow: { call: true, subscribe: true } },
              { uri: 'com.example.secret', match: 'exact', allow: {} },
            ],
          },
          { name: 'backend', permissions: [{ uri: 'com..ping', match: 'wildcard', allow: { register: true } }] },
        ],
        auth: { anonymous: { role: 'anonymous' } },
      },
    ],
  };
}

function problemsOf(input: unknown): ConfigError {
  try {
    validateConfig(input);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  expect.fail('config was accepted');
}

describe('router/limits', () => {
  it('every default lies within its own min..max, and DEFAULT_LIMITS holds exactly the defaults', () => {
    for (const [name, spec] of Object.entries(LIMIT_SPECS)) {
      expect(spec.min, name).to.be.at.most(spec.default);
      expect(spec.default, name).to.be.at.most(spec.max);
      expect(spec.why, name).to.be.a('string').with.length.greaterThan(10);
      expect(DEFAULT_LIMITS[name as LimitName], name).to.equal(spec.default);
    }
    expect(Object.keys(DEFAULT_LIMITS)).to.have.members(Object.keys(LIMIT_SPECS));
    expect(Object.isFrozen(DEFAULT_LIMITS)).to.equal(true);
  });
});

describe('router/config', () => {
  it('the shipped router.config.json validates and yields the documented defaults', () => {
    const config = loadConfigFile(DEFAULT_CONFIG_PATH);
    expect(config.listeners).to.deep.equal([
      {
        type: 'websocket',
        host: '127.0.0.1',
        port: 8080,
        path: '/ws',
        serializers: ['json', 'msgpack', 'cbor'],
        allowedOrigins: [],
        requireOrigin: false,
        trustProxy: false,
        compression: false,
      },
    ]);
    expect(config.limits).to.deep.equal(DEFAULT_LIMITS);
    expect(config.log).to.deep.equal({ level: 'info' });
    expect(config.realms).to.have.length(1);
    const [realm] = config.realms;
    expect(realm!.name).to.equal('realm1');
    expect(realm!.auth).to.deep.equal({ anonymous: { role: 'anonymous' } });
    expect(realm!.roles).to.deep.equal([
      {
        name: 'anonymous',
        permissions: [
          { uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } },
          { uri: 'wamp.', match: 'prefix', allow: {} },
        ],
      },
    ]);
  });

  it('fills every default into a minimal config', () => {
    const config = validateConfig({ realms: [{ name: 'realm1' }] });
    expect(config).to.deep.equal({
      listeners: [
        {
          type: 'websocket',
          host: '127.0.0.1',
          port: 8080,
          path: '/ws',
          serializers: ['json', 'msgpack', 'cbor'],
          allowedOrigins: [],
          requireOrigin: false,
          trustProxy: false,
          compression: false,
        },
      ],
      limits: DEFAULT_LIMITS,
      realms: [{ name: 'realm1', roles: [], auth: {}, reverifyIntervalMs: 60_000 }],
      log: { level: 'info' },
    });
  });

  it('keeps given values and fills the rest of a partial section', () => {
    const config = validateConfig({
      listeners: [{ type: 'websocket', port: 0, serializers: ['msgpack'] }, { type: 'websocket', host: '::1', port: 0 }],
      limits: { helloTimeoutMs: 200, maxMessageBytes: 64 * 1024 * 1024 },
      realms: [{ name: 'realm1', roles: [{ name: 'r' }] }],
      log: { level: 'silent' },
    });
    expect(config.limits).to.deep.equal({ ...DEFAULT_LIMITS, helloTimeoutMs: 200, maxMessageBytes: 64 * 1024 * 1024 });
    expect(config.listeners[0]).to.include({ host: '127.0.0.1', port: 0, path: '/ws' });
    expect(config.listeners[0]!.serializers).to.deep.equal(['msgpack']);
    expect(config.listeners[1]).to.include({ host: '::1', port: 0 });
    expect(config.listeners[1]!.serializers).to.deep.equal(['json', 'msgpack', 'cbor']);
    expect(config.realms[0]!.roles).to.deep.equal([{ name: 'r', permissions: [] }]);
    expect(config.log.level).to.equal('silent');
  });

  it('accepts every limit at its min and at its max', () => {
    for (const [name, spec] of Object.entries(LIMIT_SPECS)) {
      for (const value of [spec.min, spec.max]) {
        expect(validateConfig({ ...baseConfig(), limits: { [name]: value } }).limits[name as LimitName], name).to.equal(value);
      }
    }
  });

  it('rejects every limit just outside its range, naming the limit', () => {
    for (const [name, spec] of Object.entries(LIMIT_SPECS)) {
      for (const value of [spec.min - 1, spec.max + 1]) {
        const err = problemsOf({ ...baseConfig(), limits: { [name]: value } });
        expect(err.problems.map((p) => p.path), `${name}=${value}`).to.deep.equal([`/limits/${name}`]);
      }
    }
  });

  it('does not modify the caller’s object, and hands out independent copies', () => {
    const input = baseConfig();
    delete input.listeners;
    const snapshot = structuredClone(input);
    const first = validateConfig(input);
    expect(input).to.deep.equal(snapshot);
    expect(first.listeners).to.have.length(1);

    first.listeners[0]!.serializers.push('json');
    first.limits.maxConnections = 1;
    const second = validateConfig(input);
    expect(second.listeners[0]!.serializers).to.deep.equal(['json', 'msgpack', 'cbor']);
    expect(second.limits.maxConnections).to.equal(DEFAULT_LIMITS.maxConnections);
    expect(second.realms[0]).to.not.equal(input.realms[0]);
  });

  it('accepts the empty URI for prefix and empty components for wildcard', () => {
    const input = baseConfig();
    input.realms[0].roles[0].permissions = [
      { uri: '', match: 'prefix', allow: { call: true } },
      { uri: 'a..c', match: 'wildcard', allow: { call: true } },
      { uri: 'com.example.x', match: 'exact', allow: { call: false }, disclose: { caller: true } },
    ];
    expect(validateConfig(input).realms[0]!.roles[0]!.permissions).to.have.length(3);
  });

  type Case = [name: string, breakIt: (c: Record<string, any>) => unknown, path: string, reason: string];
  const invalid: Case[] = [
    ['unknown top-level key', (c) => ((c.listner = []), c), '/', 'unknown key "listner"'],
    ['unknown key in limits', (c) => ((c.limits = { maxFoo: 1 }), c), '/limits', 'unknown key "maxFoo"'],
    ['negative limit', (c) => ((c.limits = { helloTimeoutMs: -1 }), c), '/limits/helloTimeoutMs', 'must be >= 100'],
    ['fractional limit', (c) => ((c.limits = { maxConnections: 1.5 }), c), '/limits/maxConnections', 'must be integer'],
    ['string limit', (c) => ((c.limits = { maxConnections: '10' }), c), '/limits/maxConnections', 'must be integer'],
    ['maxMessageBytes above 64 MiB', (c) => ((c.limits = { maxMessageBytes: 64 * 1024 * 1024 + 1 }), c), '/limits/maxMessageBytes', '<= 67108864'],
    ['port 70000', (c) => ((c.listeners[0].port = 70000), c), '/listeners/0/port', 'must be <= 65535'],
    ['listener without type', (c) => (delete c.listeners[0].type, c), '/listeners/0', 'missing required key "type"'],
    ['unknown listener type', (c) => ((c.listeners[0].type = 'longpoll'), c), '/listeners/0/type', '"websocket", "rawsocket"'],
    ['path without leading slash', (c) => ((c.listeners[0].path = 'ws'), c), '/listeners/0/path', 'a path starts with "/"'],
    ['bad serializer name', (c) => ((c.listeners[0].serializers = ['json', 'xml']), c), '/listeners/0/serializers/1', 'got "xml"'],
    ['no serializers', (c) => ((c.listeners[0].serializers = []), c), '/listeners/0/serializers', 'fewer than 1'],
    ['origin with a path', (c) => ((c.listeners[0].allowedOrigins = ['https://a.example/']), c), '/listeners/0/allowedOrigins/0', 'an origin is scheme://host[:port] with no path'],
    ['duplicate listener', (c) => (c.listeners.push({ type: 'websocket', port: 9000, path: '/other' }), c), '/listeners/1', 'duplicate listener 127.0.0.1:9000'],
    ['unknown auth method key', (c) => ((c.realms[0].auth.kerberos = { users: {} }), c), '/realms/0/auth', 'unknown key "kerberos"'],
    ['unknown key in a ticket section', (c) => ((c.realms[0].auth.ticket = { principals: {} }), c), '/realms/0/auth/ticket', 'unknown key "principals"'],
    ['wampcra user with neither secret nor key', (c) => ((c.realms[0].auth.wampcra = { users: { u: { role: 'anonymous' } } }), c), '/realms/0/auth/wampcra/users/u', 'exactly one of'],
    ['wampcra user with both secret and key', (c) => ((c.realms[0].auth.wampcra = { users: { u: { role: 'anonymous', secret: 's', key: 'qw17EmbULn2gsSUDGsMYD0yOt0/fG+K+rOYOxc7THM0=', salt: 'x' } } }), c), '/realms/0/auth/wampcra/users/u', 'exactly one of'],
    ['PBKDF2 key without its salt', (c) => ((c.realms[0].auth.wampcra = { users: { u: { role: 'anonymous', key: 'qw17EmbULn2gsSUDGsMYD0yOt0/fG+K+rOYOxc7THM0=' } } }), c), '/realms/0/auth/wampcra/users/u', 'needs the "salt"'],
    ['wampcra user with an undefined role', (c) => ((c.realms[0].auth.wampcra = { users: { u: { role: 'ghost', secret: 's' } } }), c), '/realms/0/auth/wampcra/users/u/role', 'not defined'],
    ['cryptosign pubkey that is not 64 hex', (c) => ((c.realms[0].auth.cryptosign = { users: { d: { role: 'anonymous', pubkeys: ['abc'] } } }), c), '/realms/0/auth/cryptosign/users/d/pubkeys/0', '64 hexadecimal characters'],
    ['dynamic method that does not exist', (c) => ((c.realms[0].auth.dynamic = { procedure: 'com.auth', methods: ['kerberos'] }), c), '/realms/0/auth/dynamic/methods/0', 'must be one of'],
    ['issue with an undefined role', (c) => ((c.realms[0].auth.wampcra = { users: {}, issue: { roles: ['ghost'] } }), c), '/realms/0/auth/wampcra/issue/roles/0', 'not defined'],
    ['anonymous without role', (c) => ((c.realms[0].auth.anonymous = {}), c), '/realms/0/auth/anonymous', 'missing required key "role"'],
    ['bad match value', (c) => ((c.realms[0].roles[0].permissions[0].match = 'regex'), c), '/realms/0/roles/0/permissions/0/match', 'got "regex"'],
    ['missing match', (c) => (delete c.realms[0].roles[0].permissions[0].match, c), '/realms/0/roles/0/permissions/0', 'missing required key "match"'],
    ['malformed exact URI', (c) => ((c.realms[0].roles[0].permissions[1].uri = 'com..x'), c), '/realms/0/roles/0/permissions/1/uri', 'not a valid URI for match "exact"'],
    ['empty exact URI', (c) => ((c.realms[0].roles[0].permissions[1].uri = ''), c), '/realms/0/roles/0/permissions/1/uri', 'not a valid URI'],
    ['URI with a space', (c) => ((c.realms[0].roles[1].permissions[0].uri = 'com. x'), c), '/realms/0/roles/1/permissions/0/uri', 'not a valid URI'],
    [
      'URI longer than limits.maxUriLength',
      (c) => ((c.limits = { maxUriLength: 64 }), (c.realms[0].roles[1].permissions[0].uri = 'a.' + 'b'.repeat(70)), c),
      '/realms/0/roles/1/permissions/0/uri',
      'not a valid URI',
    ],
    ['role referenced by anonymous not defined', (c) => ((c.realms[0].auth.anonymous.role = 'guest'), c), '/realms/0/auth/anonymous/role', 'role "guest" is not defined'],
    ['duplicate realm', (c) => (c.realms.push({ name: 'realm1' }), c), '/realms/1/name', 'duplicate realm name "realm1" (same as /realms/0/name)'],
    ['duplicate role', (c) => ((c.realms[0].roles[1].name = 'anonymous'), c), '/realms/0/roles/1/name', 'duplicate role name "anonymous"'],
    ['realm name too short', (c) => ((c.realms[0].name = 'ab'), c), '/realms/0/name', 'a realm name starts with a letter'],
    ['realm name starting with a digit', (c) => ((c.realms[0].name = '1realm'), c), '/realms/0/name', 'a realm name starts with a letter'],
    ['missing realms', (c) => (delete c.realms, c), '/', 'missing required key "realms"'],
    ['empty realms', (c) => ((c.realms = []), c), '/realms', 'fewer than 1'],
    ['allow with unknown action key', (c) => ((c.realms[0].roles[0].permissions[0].allow.admin = true), c), '/realms/0/roles/0/permissions/0/allow', 'unknown key "admin"'],
    ['non-boolean allow', (c) => ((c.realms[0].roles[0].permissions[0].allow.call = 'yes'), c), '/realms/0/roles/0/permissions/0/allow/call', 'must be boolean'],
    ['unknown disclose key', (c) => ((c.realms[0].roles[0].permissions[0].disclose = { callee: true }), c), '/realms/0/roles/0/permissions/0/disclose', 'unknown key "callee"'],
    ['unknown key in a role\'s meta setting', (c) => ((c.realms[0].roles[0].meta = { peer: true }), c), '/realms/0/roles/0/meta', 'unknown key "peer"'],
    ['non-boolean meta setting', (c) => ((c.realms[0].roles[0].meta = { authextra: 'yes' }), c), '/realms/0/roles/0/meta/authextra', 'must be boolean'],
    ['bad log level', (c) => ((c.log = { level: 'verbose' }), c), '/log/level', 'got "verbose"'],
    ['not an object', () => [], '/', 'must be object'],
    ['not JSON data', (c) => ((c.log = { level: () => 'info' }), c), '/', 'must be plain JSON data'],
  ];

  for (const [name, breakIt, path, reason] of invalid) {
    it(`rejects ${name} at ${path}`, () => {
      const err = problemsOf(breakIt(baseConfig()));
      const problem = err.problems.find((p) => p.path === path);
      expect(problem, JSON.stringify(err.problems)).to.not.equal(undefined);
      expect(problem!.message).to.include(reason);
      expect(err.message.split('\n')).to.include(`${path}: ${problem!.message}`);
    });
  }

  it('reports every schema problem at once', () => {
    const input = baseConfig();
    input.limits = { maxFoo: 1, helloTimeoutMs: -1 };
    input.listeners[0].port = 70000;
    const paths = problemsOf(input).problems.map((p) => p.path);
    expect(paths).to.include.members(['/limits', '/limits/helloTimeoutMs', '/listeners/0/port']);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file, line and column of a JSON syntax error', () => {
    const file = join(dir, 'syntax.json');
    writeFileSync(file, '{\n  "realms": [\n    { "name": "realm1" "x": 1 }\n  ]\n}\n');
    expect(() => loadConfigFile(file)).to.throw(ConfigError, file).with.property('message').that.matches(/invalid JSON at line 3 column \d+/);
  });

  it('names the file when the config is invalid', () => {
    const file = join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify({ realms: [{ name: 'realm1' }], limits: { maxFoo: 1 } }));
    expect(() => loadConfigFile(file)).to.throw(ConfigError, `invalid config file ${file}:\n/limits: unknown key "maxFoo"`);
  });

  it('reports a missing file as a ConfigError', () => {
    const file = join(dir, 'missing.json');
    expect(() => loadConfigFile(file)).to.throw(ConfigError, 'cannot read');
  });

  it('loads a valid file, with a byte order mark', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, '\uFEFF' + JSON.stringify({ realms: [{ name: 'realm1' }] }));
    expect(loadConfigFile(file).realms[0]!.name).to.equal('realm1');
  });
});
