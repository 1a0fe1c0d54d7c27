import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { deriveKey } from '../../auth/crypto.js';
import { DEFAULT_CONFIG_PATH } from '../../router/config.js';
import { RawClient } from '../helpers/raw-client.js';
import { spawnWithTimeout, type Exit, type Running } from '../helpers/spawn.js';

/** The compiled CLI, next to this compiled test: dist/test/integration → dist/router. */
const CLI = fileURLToPath(new URL('../../router/cli.js', import.meta.url));
const SPAWN_TIMEOUT_MS = 10_000;

/** Starts the CLI; the child is killed after SPAWN_TIMEOUT_MS so a hang fails the test instead of the suite. */
function start(args: string[], env: Record<string, string> = {}, input?: string): Running {
  const childEnv = { ...process.env, ...env };
  if (!('SWITCHYARD_CONFIG' in env)) delete childEnv.SWITCHYARD_CONFIG;
  return spawnWithTimeout(process.execPath, [CLI, ...args], { env: childEnv, input, timeoutMs: SPAWN_TIMEOUT_MS });
}

function run(args: string[], env: Record<string, string> = {}, input?: string): Promise<Exit> {
  return start(args, env, input).exit;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A port that was free a moment ago: listen on 0, note the port, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('switchyard CLI', function () {
  this.timeout(SPAWN_TIMEOUT_MS + 5_000);

  let dir: string;
  const writeConfig = (name: string, config: unknown): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };
  const validConfig = (port: number) => ({
    listeners: [{ type: 'websocket', host: '127.0.0.1', port }],
    realms: [{ name: 'realm1' }],
  });
  const invalidConfig = (port: number) => ({ ...validConfig(port), limits: { maxMessageBytes: -1 } });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help prints the usage with every option, the env var and the signals, and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).to.equal(0);
    for (const word of ['--config', '--check-config', '--help', '--port', '--cluster-nats', '--node', 'SWITCHYARD_CONFIG', 'SIGTERM', 'SIGINT']) {
      expect(result.stdout).to.include(word);
    }
  });

  it('an unknown option prints the usage on stderr and exits 2', async () => {
    const result = await run(['--frobnicate']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('--frobnicate').and.include('usage: switchyard');
    expect(result.stdout).to.equal('');
  });

  it('--config without a file exits 2', async () => {
    expect((await run(['--check-config', '--config'])).code).to.equal(2);
  });

  it('--check-config accepts the shipped default config', async () => {
    const result = await run(['--check-config']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout.trim()).to.equal(`config ok: ${DEFAULT_CONFIG_PATH}`);
  });

  it('--check-config --config rejects an invalid file with the JSON path, exit 1', async () => {
    const bad = writeConfig('bad.json', invalidConfig(9));
    const result = await run(['--check-config', '--config', bad]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(bad).and.include('/limits/maxMessageBytes: must be >= 1024');
    expect(result.stdout).to.equal('');
  });

  it('takes the config from SWITCHYARD_CONFIG, and --config takes precedence over it', async () => {
    const good = writeConfig('good.json', validConfig(9));
    const bad = writeConfig('bad-env.json', invalidConfig(9));

    const fromEnv = await run(['--check-config'], { SWITCHYARD_CONFIG: good });
    expect(fromEnv.code, fromEnv.stderr).to.equal(0);
    expect(fromEnv.stdout.trim()).to.equal(`config ok: ${good}`);

    const overridden = await run(['--check-config', '--config', good], { SWITCHYARD_CONFIG: bad });
    expect(overridden.code, overridden.stderr).to.equal(0);
    expect(overridden.stdout.trim()).to.equal(`config ok: ${good}`);
  });

  it('--check-config warns about a shadowed permission rule and a narrower rule overridden at a tie, naming both JSON paths, exit 0', async () => {
    const permissions = [
      { uri: 'app.', match: 'prefix', allow: { call: true } },
      { uri: 'app.x', match: 'wildcard', allow: { call: true } },
      { uri: 'app.x', match: 'exact', allow: {} },
      { uri: 'app.admin', match: 'prefix', allow: {} },
      { uri: 'app.admin', match: 'wildcard', allow: { call: true } },
    ];
    const file = writeConfig('lint.json', { ...validConfig(9), realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [] }, { name: 'web', permissions }] }] });
    const result = await run(['--check-config', '--config', file]);
    expect(result.code, result.stderr).to.equal(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).to.equal(`config ok: ${file}`);
    const role = '/realms/0/roles/1/permissions';
    expect(lines.slice(1)).to.deep.equal([
      `warning: ${role}/1 (wildcard "app.x") never decides: ${role}/2 (exact "app.x") always outranks it`,
      `warning: ${role}/4 (wildcard "app.admin") is narrower than ${role}/3 (prefix "app.admin") but ties with it`
        + ' (same literal components and uri length), so on its URIs: call denied',
    ]);
  });

  it('an invalid config from SWITCHYARD_CONFIG stops the start: exit 1, the problem on stderr, no port opened', async () => {
    const port = await freePort();
    const bad = writeConfig('bad-start.json', invalidConfig(port));
    const result = await run([], { SWITCHYARD_CONFIG: bad });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include('/limits/maxMessageBytes');
    expect(result.stderr).to.not.include('listening');
    expect(await isListening(port)).to.equal(false);
  });

  it('a JSON syntax error is reported with the file and line, exit 1', async () => {
    const file = join(dir, 'syntax.json');
    writeFileSync(file, '{\n  "realms": [ { "name": "realm1" } ]\n  "log": {}\n}\n');
    const result = await run(['--check-config', '--config', file]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(file).and.match(/invalid JSON at line 3/);
  });

  it('starts, logs each listener, and on SIGTERM closes and exits 0', async () => {
    const port = await freePort();
    const running = start(['--config', writeConfig('run.json', validConfig(port))]);
    try {
      await waitFor(() => running.output().stderr.includes('"listening"') || running.child.exitCode !== null, 'listening');
      const { stderr } = running.output();
      expect(stderr).to.include(`"url":"ws://127.0.0.1:${port}/ws"`);
      expect(await isListening(port)).to.equal(true);
      running.child.kill('SIGTERM');
      const result = await running.exit;
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stderr).to.include('"shutdown"');
      expect(await isListening(port)).to.equal(false);
    } finally {
      running.child.kill('SIGKILL');
    }
  });

  it('logs each listener with its own scheme: rs:// for RawSocket, http:// for the bridge, all three for universal', async () => {
    const [ws, rs, http, universal] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const config = {
      listeners: [
        { type: 'websocket', host: '127.0.0.1', port: ws },
        { type: 'rawsocket', host: '127.0.0.1', port: rs },
        { type: 'http', host: '127.0.0.1', port: http },
        { type: 'universal', host: '127.0.0.1', port: universal, path: '/wamp' },
      ],
      realms: [{ name: 'realm1' }],
    };
    const running = start(['--config', writeConfig('schemes.json', config)]);
    try {
      const urls = () => [...running.output().stderr.matchAll(/"event":"listening".*?"url":"([^"]+)"/g)].map((m) => m[1]);
      await waitFor(() => urls().length === 6 || running.child.exitCode !== null, 'six listening lines');
      expect(urls(), running.output().stderr).to.deep.equal([
        `ws://127.0.0.1:${ws}/ws`, `rs://127.0.0.1:${rs}`, `http://127.0.0.1:${http}`,
        `ws://127.0.0.1:${universal}/wamp`, `rs://127.0.0.1:${universal}`, `http://127.0.0.1:${universal}`,
      ]);
    } finally {
      running.child.kill('SIGKILL');
    }
  });

  it('--port moves the one listener of the config to another port; the file is unchanged', async () => {
    const [inFile, fromFlag] = [await freePort(), await freePort()];
    const config = writeConfig('port.json', validConfig(inFile));
    const running = start(['--config', config, '--port', String(fromFlag)]);
    try {
      await waitFor(() => running.output().stderr.includes('"listening"') || running.child.exitCode !== null, 'listening');
      expect(running.output().stderr).to.include(`"url":"ws://127.0.0.1:${fromFlag}/ws"`);
      expect(await isListening(fromFlag)).to.equal(true);
      expect(await isListening(inFile)).to.equal(false);
    } finally {
      running.child.kill('SIGKILL');
    }
  });

  it('--port refuses a config with several listeners, and a value that is not a port, exit 1', async () => {
    const two = { ...validConfig(await freePort()), listeners: [{ type: 'websocket', port: 1 }, { type: 'rawsocket', port: 2 }] };
    const several = await run(['--config', writeConfig('two.json', two), '--port', '9999']);
    expect(several.code).to.equal(1);
    expect(several.stderr).to.include('--port needs a config with exactly one listener; this one has 2');
    const word = await run(['--check-config', '--port', '80a']);
    expect(word.code).to.equal(1);
    expect(word.stderr).to.include('--port: "80a" is not a port number (0-65535)');
  });

  it('a port already in use fails the start with a clear line, exit 1', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const result = await run(['--config', writeConfig('busy.json', validConfig(port))]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/switchyard: failed to start: .*EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  describe('derive-key', () => {
    it('prints the salted WAMP-CRA entry for a secret read from stdin (wamp-spec §6.2 vector 1)', async () => {
      const result = await run(['derive-key', '--salt', 'salt123', '--iterations', '1000', '--role', 'frontend'], {}, 'L3L1YUE8Txlw\n');
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({
        key: 'qzcdsr9uu/L5hnss3kjNTRe490ETgA70ZBaB5rvnJ5Y=', salt: 'salt123', iterations: 1000, keylen: 32, role: 'frontend',
      });
      expect(result.stdout + result.stderr).not.to.include('L3L1YUE8Txlw');
    });

    it('honours --iterations and --keylen (Crossbar docs vector: secret1/salt123/100/16)', async () => {
      const result = await run(['derive-key', '--salt', 'salt123', '--iterations', '100', '--keylen', '16'], {}, 'secret1');
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout).key).to.equal('prq7+YkJ1/KlW1X0YczMHw==');
    });

    it('without --salt: a random 16-byte base64url salt, 600,000 iterations, the complete entry (issue 14.5)', async () => {
      const first = await run(['derive-key', '--role', 'frontend'], {}, 'bob-password\n');
      const second = await run(['derive-key', '--role', 'frontend'], {}, 'bob-password\n');
      expect(first.code, first.stderr).to.equal(0);
      const entry = JSON.parse(first.stdout);
      expect(Object.keys(entry)).to.deep.equal(['key', 'salt', 'iterations', 'keylen', 'role']);
      expect(entry).to.include({ iterations: 600_000, keylen: 32, role: 'frontend' });
      expect(entry.salt).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(entry.salt, 'base64url')).to.have.length(16);
      expect(entry.key).to.equal(deriveKey('bob-password', entry.salt, 600_000, 32));
      expect(JSON.parse(second.stdout).salt, 'a fresh salt every time').to.not.equal(entry.salt);
      expect(first.stdout + first.stderr).not.to.include('bob-password');
    });

    it('without --role the entry is printed and stderr says to add the role', async () => {
      const result = await run(['derive-key', '--iterations', '1000'], {}, 'x');
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.have.keys('key', 'salt', 'iterations', 'keylen');
      expect(result.stderr).to.match(/add "role"/);
    });

    it('refuses an empty salt, an empty secret or a bad keylen with exit 2', async () => {
      expect((await run(['derive-key', '--salt', ''], {}, 'x')).code).to.equal(2);
      expect((await run(['derive-key', '--salt', 's'], {}, '')).code).to.equal(2);
      expect((await run(['derive-key', '--salt', 's', '--keylen', '4'], {}, 'x')).code).to.equal(2);
    });
  });

  it('SIGHUP reloads the config file: an added realm exists afterwards, an invalid file is refused and kept', async () => {
    const port = await freePort();
    const file = writeConfig('reload.json', validConfig(port));
    const running = start(['--config', file]);
    try {
      await waitFor(() => running.output().stderr.includes('"listening"') || running.child.exitCode !== null, 'listening');
      writeFileSync(file, JSON.stringify({ ...validConfig(port), realms: [{ name: 'realm1' }, { name: 'realm2' }] }));
      running.child.kill('SIGHUP');
      await waitFor(() => running.output().stderr.includes('"config.reloaded"'), 'reload');
      // realm2 has no auth method: a HELLO now meets no_auth_method, no longer no_such_realm.
      const client = await RawClient.connect(`ws://127.0.0.1:${port}/ws`);
      client.send([1, 'realm2', { roles: { caller: {} } }]);
      const abort = await client.next();
      expect(abort[0]).to.equal(3);
      expect(abort[2]).to.equal('wamp.error.no_auth_method');
      writeFileSync(file, JSON.stringify(invalidConfig(port)));
      running.child.kill('SIGHUP');
      await waitFor(() => running.output().stderr.includes('"config.reload_failed"'), 'failed reload');
      expect(running.child.exitCode).to.equal(null);
      expect(await isListening(port)).to.equal(true);
    } finally {
      running.child.kill('SIGKILL');
    }
  });
});
