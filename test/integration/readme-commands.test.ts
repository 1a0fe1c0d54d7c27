import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveKey } from '../../auth/crypto.js';
import { connectAutobahn } from '../helpers/autobahn.js';
import { codeBlocks, README, readmeSection, readmeSubsection } from '../helpers/readme.js';
import { natsServerMissing } from '../helpers/nats.js';
import { waitFor } from '../helpers/wait.js';
import { validateConfig } from '../../router/config.js';
import { silentLogger } from '../../router/log.js';
import { createRouter } from '../../router/server.js';
import { signalGroup, spawnWithTimeout, waitForOutput, type Exit, type Running } from '../helpers/spawn.js';

/**
 * Every shell block of README.md (```sh / ```bash) is run here exactly as written, or found
 * verbatim in .ci/run. Each block is marked with `<!-- readme-command: NAME -->` on the line before
 * it; NAME picks how it is checked below. A block without a marker, or a marker without a check,
 * fails the suite, so a README command cannot go untested.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CI_RUN = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
const MARKER = /<!-- readme-command: ([a-z0-9-]+) -->\n```(?:sh|bash)\n([\s\S]*?)```/g;

interface ShellBlock {
  name: string;
  text: string;
}

function markedBlocks(): ShellBlock[] {
  return [...README.matchAll(MARKER)].map((m) => ({ name: m[1]!, text: m[2]! }));
}

function blockNamed(name: string): string {
  const block = markedBlocks().find((b) => b.name === name);
  if (block === undefined) throw new Error(`README has no block marked readme-command: ${name}`);
  return block.text;
}

/** The commands of a block: one per line, comments and blank lines dropped, `\` continuations joined. */
function commandsOf(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The user's shell environment: npm's own variables from `npm test` would change what npm does. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  delete env.SWITCHYARD_CONFIG;
  return { ...env, ...extra };
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv = userEnv(), timeoutMs = 60_000, input?: string): Running {
  return spawnWithTimeout('bash', ['-c', script], { cwd, env, timeoutMs, input });
}

async function runToEnd(script: string, cwd: string, env?: NodeJS.ProcessEnv, timeoutMs?: number, input?: string): Promise<Exit> {
  const exit = await bash(script, cwd, env, timeoutMs, input).exit;
  if (exit.code !== 0) throw new Error(`\`${script}\` exited ${exit.code}:\n${exit.stdout}\n${exit.stderr}`);
  return exit;
}

/** Starts a long-running command, waits for its listening line, hands it to `use`, then stops it. */
async function whileRunning(script: string, cwd: string, listening: RegExp, use: (running: Running) => Promise<void>, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  const running = bash(script, cwd, userEnv(), 90_000);
  try {
    await waitForOutput(running, listening, 60_000);
    await use(running);
  } finally {
    signalGroup(running, signal);
  }
  return running.exit;
}

function expectInCiRun(command: string): void {
  expect(CI_RUN.split('\n').map((line) => line.trim()), `.ci/run runs \`${command}\``).to.include(command);
}

const LISTENING_8080 = /"event":"listening","url":"ws:\/\/127\.0\.0\.1:8080\/ws"/;

/** How each marked block is checked. */
const CHECKS: Record<string, (text: string) => Promise<void | 'pending'>> = {
  'quick-start': async (text) => {
    const [install, start, ...rest] = commandsOf(text);
    expect([install, start, rest]).to.deep.equal(['npm ci', 'npm start', []]);
    expectInCiRun(install!);
    // The embedded config as the README describes it: ws://127.0.0.1:8080/ws, realm1, anonymous.
    let goodbye = '';
    const exit = await whileRunning(start!, ROOT, LISTENING_8080, async () => {
      const client = await connectAutobahn('ws://127.0.0.1:8080/ws');
      expect(client.details.authrole).to.equal('anonymous');
      await client.session.register('com.example.add', (args: number[]) => args[0]! + args[1]!);
      expect(await client.session.call('com.example.add', [2, 3])).to.equal(5);
      client.closed.then(({ details }) => (goodbye = String(details.reason)), () => undefined);
    }, 'SIGINT');
    expect(exit.stderr).to.include('"event":"stopped"');
    expect(goodbye).to.equal('wamp.close.system_shutdown');
  },

  'command-line': async (text) => {
    const config = join(ROOT, 'my.config.json');
    writeFileSync(config, readFileSync(join(ROOT, 'router.config.json')));
    try {
      const [start, check, help, direct, ...rest] = commandsOf(text);
      expect(rest).to.deep.equal([]);
      await whileRunning(start!, ROOT, LISTENING_8080, async () => undefined);
      expect((await runToEnd(check!, ROOT, undefined, 60_000)).stdout).to.include('config ok');
      expect((await runToEnd(help!, ROOT, undefined, 60_000)).stdout).to.include('usage: switchyard');
      await whileRunning(direct!, ROOT, LISTENING_8080, async () => undefined);
    } finally {
      rmSync(config, { force: true });
    }
  },

  'cluster-walkthrough': async (text) => {
    if (natsServerMissing()) return 'pending';
    const commands = commandsOf(text);
    expect(commands.map((c) => c.replace(/\s+#.*$/, '').split(' ')[0])).to.deep.equal(['nats-server', 'node', 'node', 'node', 'node']);
    const walkthrough = readmeSubsection('Three nodes on one machine');
    const files = { 'nats.conf': codeBlocks(walkthrough, 'conf')[0]!, 'three-nodes.mjs': codeBlocks(walkthrough, 'js')[0]! };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(ROOT, name), `${content}\n`);
    // A root shell has /usr/sbin (Debian's nats-server) on its PATH; the test runner's may not.
    const env = userEnv({ PATH: `${process.env.PATH}:/usr/sbin` });
    const running: Running[] = [];
    try {
      running.push(bash(commands[0]!, ROOT, env, 90_000));
      await waitForOutput(running[0]!, /Server is ready/, 30_000);
      const nodes = commands.slice(1, 4).map((command) => bash(command, ROOT, env, 90_000));
      running.push(...nodes);
      for (const [i, port] of [8081, 8082, 8083].entries()) {
        await waitForOutput(nodes[i]!, new RegExp(`"event":"listening","url":"ws://127\\.0\\.0\\.1:${port}/ws"`), 30_000);
        const log = nodes[i]!.output().stderr;
        expect(log.indexOf('"event":"cluster.joined"'), 'cluster.joined before listening').to.be.within(0, log.indexOf('"event":"listening"'));
      }
      const [a, b, c] = nodes as [Running, Running, Running];
      await waitFor(() => [a, c].every((n) => (n.output().stderr.match(/"event":"cluster\.node_up"/g) ?? []).length === 2), { timeoutMs: 10_000, what: 'each node hears its two peers' })
        .catch((error: Error) => { throw new Error(`${error.message}\n${nodes.map((n) => n.output().stderr).join('\n')}`); });
      const printed = (await runToEnd(commands[4]!, ROOT, env, 30_000)).stdout;
      expect(printed).to.equal(`${codeBlocks(walkthrough, 'text')[0]}\n`);
      // Ctrl-C on b: a and c see it leave at once, with the reason "bye".
      signalGroup(b, 'SIGINT');
      await waitFor(() => [a, c].every((n) => /"event":"cluster\.node_down","node":"[ac]","peer":"b".*"reason":"bye"/.test(n.output().stderr)), { timeoutMs: 5_000, what: 'node_down bye' });
      // kill -9 on c: a declares it dead after deadAfterMs of silence.
      signalGroup(c, 'SIGKILL');
      await waitFor(() => /"event":"cluster\.node_down","node":"a","peer":"c".*"reason":"silent"/.test(a.output().stderr), { timeoutMs: 10_000, what: 'node_down silent' });
      expect(walkthrough).to.include('`cluster.node_down` with `"reason":"bye"`').and.include('`cluster.node_down` with `"reason":"silent"`');
    } finally {
      for (const process of running.reverse()) signalGroup(process, 'SIGKILL');
      await Promise.all(running.map((r) => r.exit));
      for (const name of [...Object.keys(files), 'nats-data']) rmSync(join(ROOT, name), { recursive: true, force: true });
    }
  },

  'install-from-clone': async (text) => {
    const app = await installedApp(text);
    // The README's promise: the package imports under its npm name.
    const probe = "import('switchyard-wamp').then((m) => console.log(typeof m.createRouter, typeof m.validateConfig))";
    expect((await runToEnd(`node -e "${probe}"`, app)).stdout.trim()).to.equal('function function');
  },

  'derive-key': async (text) => {
    // `read -rs` takes the password from stdin, as from a terminal.
    const exit = await runToEnd(text, ROOT, undefined, 60_000, 'bob-password\n');
    const entry = JSON.parse(exit.stdout);
    expect(entry).to.include({ iterations: 600_000, keylen: 32, role: 'frontend' });
    expect(entry.salt).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(entry.key).to.equal(deriveKey('bob-password', entry.salt, 600_000, 32));
    // The entry the README shows under the command: same keys, and really bob-password's key.
    const shown = JSON.parse(/```json\n(\{ "key"[^\n]*)\n```/.exec(README)![1]!);
    expect(Object.keys(shown)).to.deep.equal(Object.keys(entry));
    expect(shown.key).to.equal(deriveKey('bob-password', shown.salt, shown.iterations, shown.keylen));
  },

  'http-bridge-curl': async (text) => {
    await withBridgeRouter(async ({ events, dir }) => {
      // The block as written, then its last request once more: the comment promises 401 for a reused nonce.
      const lastRequest = text.slice(text.lastIndexOf('curl -s -w'), text.indexOf('\n# {"publication"'));
      const exit = await runToEnd(`${text}\n${lastRequest}`, dir);
      expect(exit.stdout).to.match(/^\{"publication":\d+\} HTTP 200\n HTTP 401\n$/);
      await waitFor(() => events.length === 1, { what: 'the published event at adder' });
      expect(events[0]).to.deep.include({ args: ['v1.2.3'], kwargs: { host: 'web-1' } });
      expect(events[0]!.details).to.include({ publisher_authid: 'deploy', publisher_authrole: 'backend' });
    });
  },

  'http-bridge-cli': async (text) => {
    const app = await installedApp(blockNamed('install-from-clone'));
    await withBridgeRouter(async ({ events, callers }) => {
      const exit = await runToEnd(text, app);
      const [published, called] = exit.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(published.publication).to.be.a('number');
      expect(called).to.deep.equal({ args: [42], kwargs: {} });
      await waitFor(() => events.length === 1, { what: 'the published event at adder' });
      expect(callers).to.deep.equal([{ caller_authid: 'deploy', caller_authrole: 'backend' }]);
    }, app);
  },

  'ops-metrics': async (text) => {
    const token = randomBytes(24).toString('base64url');
    const config = validateConfig({ listeners: [], realms: [{ name: 'realm1' }], ops: { host: '127.0.0.1', port: 9090, token } });
    const router = createRouter(config, { logger: silentLogger });
    await router.listen();
    try {
      const exit = await runToEnd(text, ROOT, userEnv({ OPS_TOKEN: token }));
      const lines = exit.stdout.trim().split('\n');
      expect(lines.length).to.be.greaterThan(5);
      expect(lines.every((line) => line.startsWith('switchyard_'))).to.equal(true);
      expect(exit.stdout).to.include('switchyard_bytes_in_total');
    } finally {
      await router.close();
    }
  },

  tests: async (text) => {
    for (const command of commandsOf(text)) expectInCiRun(command);
  },
};

interface BridgeWorld {
  /** EVENTs `adder` received on com.example.deployed. */
  events: { args: unknown[]; kwargs: Record<string, unknown>; details: Record<string, unknown> }[];
  /** Who called com.example.add, as disclosed to `adder`. */
  callers: Record<string, unknown>[];
  /** A directory holding secret.txt with the bridge key's secret. */
  dir: string;
}

/**
 * The HTTP bridge section's config exactly as written (its ports included), with `adder` logged in
 * by ticket registering com.example.add and subscribed to com.example.deployed.
 */
async function withBridgeRouter(use: (world: BridgeWorld) => Promise<void>, dir?: string): Promise<void> {
  const section = readmeSection('HTTP bridge');
  const config = validateConfig(JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!));
  const realm = config.realms[0]!;
  const secretDir = dir ?? mkdtempSync(join(tmpdir(), 'switchyard-bridge-'));
  writeFileSync(join(secretDir, 'secret.txt'), `${realm.http!.keys.deploy!.secret}\n`);
  const router = createRouter(config, { logger: silentLogger });
  await router.listen();
  const world: BridgeWorld = { events: [], callers: [], dir: secretDir };
  const adder = await connectAutobahn('ws://127.0.0.1:8080/ws', 'json', {
    authmethods: ['ticket'], authid: 'adder', onchallenge: () => realm.auth.ticket!.users.adder!.ticket,
  });
  try {
    await adder.session.subscribe('com.example.deployed', (args: unknown[], kwargs: Record<string, unknown>, details: Record<string, unknown>) => {
      world.events.push({ args, kwargs, details });
    });
    await adder.session.register('com.example.add', (args: number[], _kwargs: unknown, details: Record<string, unknown>) => {
      world.callers.push({ caller_authid: details.caller_authid, caller_authrole: details.caller_authrole });
      return args[0]! + args[1]!;
    });
    await use(world);
  } finally {
    await adder.close();
    await router.close();
    rmSync(dir === undefined ? secretDir : join(secretDir, 'secret.txt'), { recursive: true, force: true });
  }
}

let appDir: string | undefined;
let workDir: string | undefined;

/**
 * Runs the install block once: a copy of the clone at <tmp>/switchyard (sources, build settings,
 * node_modules linked), an empty <tmp>/my-app beside it, then the block as written from the clone.
 */
async function installedApp(text: string): Promise<string> {
  if (appDir !== undefined) return appDir;
  workDir = mkdtempSync(join(tmpdir(), 'switchyard-readme-'));
  const clone = join(workDir, 'switchyard');
  mkdirSync(clone);
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'tsconfig.build.json', 'router.config.json', 'README.md', 'router', 'realms', 'auth', 'scripts']) {
    cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  mkdirSync(join(workDir, 'my-app'));
  const exit = await runToEnd(text, clone, userEnv(), 240_000);
  expect(exit.stdout).to.include('usage: switchyard');
  appDir = join(workDir, 'my-app');
  expect(existsSync(join(appDir, 'node_modules', 'switchyard-wamp', 'dist', 'router', 'cli.js'))).to.equal(true);
  return appDir;
}

describe('README commands, run as written', function () {
  this.timeout(300_000);
  after(() => {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  });

  it('marks every shell block, and every mark has a check', () => {
    const shellBlocks = [...README.matchAll(/```(?:sh|bash)\n/g)].length;
    const marked = markedBlocks();
    expect(marked.length, 'shell blocks without a readme-command marker').to.equal(shellBlocks);
    expect(marked.map((b) => b.name).filter((name) => CHECKS[name] === undefined), 'marks without a check').to.deep.equal([]);
    expect(new Set(marked.map((b) => b.name)).size, 'duplicate marks').to.equal(marked.length);
  });

  for (const name of Object.keys(CHECKS)) {
    it(`runs the "${name}" block`, async function () {
      if ((await CHECKS[name]!(blockNamed(name))) === 'pending') this.skip();
    });
  }
});
