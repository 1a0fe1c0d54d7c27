import { expect } from 'chai';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeBlocks, readmeSubsection } from '../helpers/readme.js';
import { PYTHON, probe } from '../helpers/python.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { spawnWithTimeout, signalGroup, waitForOutput } from '../helpers/spawn.js';
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.js';
import { waitFor } from '../helpers/wait.js';

const AUTOBAHN_BROWSER = createRequire(import.meta.url).resolve('autobahn-browser/autobahn.min.js');

/**
 * README "WAMP-CRA with a salted key": the autobahn-js recipe (in Node and, with autobahn-browser, in
 * headless Chromium) and the Autobahn|Python recipe, run as written
 * against a router on the address they name (ws://127.0.0.1:8080/ws, realm1) where `bob` is stored
 * the way `derive-key` stores him (random salt, 600,000 iterations).
 */

const SECTION = readmeSubsection('WAMP-CRA with a salted key (recommended)');
const JS_RECIPE = codeBlocks(SECTION, 'js')[0]!;
const PY_RECIPE = codeBlocks(SECTION, 'python')[0]!;
/** Test files live in dist/test/integration; a script placed there resolves the project's packages. */
const HERE = fileURLToPath(new URL('.', import.meta.url));

function bobEntry(password: string) {
  const salt = randomBytes(16).toString('base64url');
  const key = pbkdf2Sync(password, salt, 600_000, 32, 'sha256').toString('base64');
  return { key, salt, iterations: 600_000, keylen: 32, role: 'frontend' };
}

describe('README: the salted WAMP-CRA recipes log in as written', function () {
  this.timeout(60_000);
  let router: TestRouter;
  let dir: string;

  let pages: Server;
  let pageOrigin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-recipes-'));
    // A page with autobahn-browser and the recipe, from a loopback origin (WebCrypto needs a secure context).
    pages = createServer((req, res) => {
      if (req.url === '/autobahn.min.js') return res.end(readFileSync(AUTOBAHN_BROWSER));
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><script src="autobahn.min.js"></script><script>\n${JS_RECIPE}</script>`);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    router = await startRouter({
      realms: [{
        name: 'realm1',
        roles: [{ name: 'frontend', permissions: [] }],
        auth: { wampcra: { users: { bob: bobEntry('bob-password') } } },
      }],
    }, { port: 8080, allowedOrigins: [pageOrigin] });
  });
  after(async () => {
    await router?.stop();
    await new Promise((resolve) => pages?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the user, password and address the test serves', () => {
    expect(JS_RECIPE).to.include("const password = 'bob-password';").and.include("url: 'ws://127.0.0.1:8080/ws', realm: 'realm1'").and.include("authid: 'bob'");
    expect(PY_RECIPE).to.include('AUTHID, SECRET = "bob", "bob-password"').and.include('ApplicationRunner("ws://127.0.0.1:8080/ws", "realm1")');
  });

  it('autobahn-js in Node: the recipe (WebCrypto PBKDF2) joins as bob/frontend', async () => {
    const script = join(HERE, `readme-recipe-${process.pid}.mjs`);
    writeFileSync(script, `import autobahn from 'autobahn';\n${JS_RECIPE}`);
    const run = spawnWithTimeout(process.execPath, [script], { timeoutMs: 50_000 });
    try {
      await waitForOutput(run, /joined as bob frontend/, 45_000);
    } finally {
      signalGroup(run, 'SIGKILL');
      rmSync(script, { force: true });
    }
  });

  it('autobahn-browser in headless Chromium: the same recipe joins as bob/frontend', async function () {
    skipWithoutChromium(this);
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const said: string[] = [];
      page.on('console', (message) => said.push(message.text()));
      page.on('pageerror', (error) => said.push(`error: ${String(error)}`));
      await page.goto(`${pageOrigin}/`, { timeout: 15_000 });
      await waitFor(() => said.some((line) => line.includes('joined as')), { timeoutMs: 30_000, what: 'the page to join' });
      expect(said.filter((line) => line.includes('joined as') || line.startsWith('error'))).to.deep.equal(['joined as bob frontend']);
    } finally {
      await chromium.close();
    }
  });

  it('Autobahn|Python: the recipe joins as bob/frontend', async function () {
    const available = await probe('import autobahn');
    if (!available.ok) return this.skip();
    const script = join(dir, 'recipe.py');
    writeFileSync(script, PY_RECIPE);
    const run = spawnWithTimeout(PYTHON, [script], { timeoutMs: 50_000 });
    try {
      await waitForOutput(run, /joined as bob frontend/, 45_000);
    } finally {
      signalGroup(run, 'SIGKILL');
    }
  });

  it('a wrong password is refused (the recipes do not join whatever they send)', async () => {
    const script = join(HERE, `readme-recipe-wrong-${process.pid}.mjs`);
    writeFileSync(script, `import autobahn from 'autobahn';\n${JS_RECIPE.replace("'bob-password'", "'not-bobs-password'")}
connection.onclose = (reason, details) => { console.log('closed', details.reason); process.exit(0); };`);
    const run = spawnWithTimeout(process.execPath, [script], { timeoutMs: 50_000 });
    try {
      await waitForOutput(run, /closed wamp\.error\.not_authorized/, 45_000);
      expect(run.output().stdout).not.to.include('joined as');
    } finally {
      signalGroup(run, 'SIGKILL');
      rmSync(script, { force: true });
    }
  });
});
