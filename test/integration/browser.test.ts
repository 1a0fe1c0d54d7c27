// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { readmeBlock } from '../helpers/readme.js';
import { launchChromium, skipWithoutChromium, type HeadlessChromium } from '../helpers/chromium.js';
import { within } from '../helpers/promises.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 14 item 4: README "In a browser", run as written in headless Chromium. The page and the
 * config are the README's own blocks; only their two ports (router 8080, page 8000) become free
 * ones. The page is served from 127.0.0.1, which the config allows, and from localhost, which it
 * does not: that one is refused, and the log line names the setting to change.
 */

const AUTOBAHN_BROWSER = createRequire(import.meta.url).resolve('autobahn-browser/autobahn.min.js');

describe('browsers: the README recipe in headless Chromium', function () {
  this.timeout(60000);
  let tr: TestRouter | undefined;
  let pages: Server | undefined;
  let chromium: HeadlessChromium | undefined;
  let backend: AbClient | undefined;

  before(function () {
    skipWithoutChromium(this);
  });

  after(async () => {
    await chromium?.close();
    await backend?.close().catch(() => undefined);
    await tr?.stop();
    await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  });

  it('the page from an allowed origin joins and calls; from localhost it is refused with a hint in the log', async () => {
    const html = readmeBlock('### In a browser', 'html');
    const config = JSON.parse(readmeBlock('### In a browser', 'json')) as { listeners: Record<string, unknown>[]; realms: unknown[] };

    // The page server: the README's page (pointing at the router's real port) and autobahn-browser.
    let routerPort = 0;
    pages = createServer((req, res) => {
      if (req.url === '/autobahn.min.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        return res.end(readFileSync(AUTOBAHN_BROWSER));
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html.replace('ws://127.0.0.1:8080/ws', `ws://127.0.0.1:${routerPort}/ws`));
    });
    await new Promise<void>((resolve) => pages!.listen(0, '127.0.0.1', resolve));
    const pagePort = (pages.address() as { port: number }).port;

    const listener = config.listeners[0]!;
    expect(listener.allowedOrigins).to.deep.equal(['http://127.0.0.1:8000']);
    tr = await startRouter({
      listeners: [{ ...listener, port: 0, allowedOrigins: [`http://127.0.0.1:${pagePort}`] }],
      realms: config.realms,
    });
    routerPort = tr.port;
    backend = await connectAutobahn(tr.url, 'json', {
      authmethods: ['ticket'], authid: 'backend', onchallenge: () => 'a long random backend ticket',
    });
    await within(backend.session.register('com.example.add', (args: number[]) => args[0]! + args[1]!), 'register');

    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`http://127.0.0.1:${pagePort}/`, { timeout: 15000 });
    await page.waitForFunction(() => document.body.textContent !== '', undefined, { timeout: 10000 });
    expect(await page.textContent('body')).to.equal('2 + 3 = 5');
    expect(errors).to.deep.equal([]);

    // The same page opened as localhost: another origin, refused at the upgrade.
    await page.goto(`http://localhost:${pagePort}/`, { timeout: 15000 });
    await page.waitForFunction(() => document.body.textContent !== '', undefined, { timeout: 10000 });
    expect(await page.textContent('body')).to.equal('closed: unreachable');
    await waitFor(() => tr!.logs.some((line) => line.event === 'listener.origin_refused'), { what: 'origin_refused log line' });
    const refusal = tr.logs.find((line) => line.event === 'listener.origin_refused')!;
    expect(refusal).to.include({
      listener: 'listeners[0]', address: `127.0.0.1:${tr.port}`, origin: `http://localhost:${pagePort}`,
      hint: `add "http://localhost:${pagePort}" to listeners[0].allowedOrigins`,
    });
  });
});
