import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { launchChromium, skipWithoutChromium, type HeadlessChromium } from '../helpers/chromium.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

/**
 * Issue 10: the /status page in headless Chromium (Debian `chromium`, installed by .ci/run),
 * against a router with two autobahn-js clients joined. Skipped, with the reason printed, when
 * /usr/bin/chromium is missing.
 */

const TOKEN = 'status-page-token-0123456789';
export const SCREENSHOT = join(tmpdir(), 'switchyard-status-page.png');

describe('operations: the /status page in headless Chromium', function () {
  this.timeout(60000);
  let tr: TestRouter | undefined;
  let chromium: HeadlessChromium | undefined;
  const clients: AbClient[] = [];

  before(function () {
    skipWithoutChromium(this);
  });

  afterEach(async () => {
    await chromium?.close();
    chromium = undefined;
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    await tr?.stop();
    tr = undefined;
  });

  it('shows the realm, the two joined sessions, a registration and the counters', async () => {
    tr = await startRouter({ ops: { port: 0, token: TOKEN } });
    for (let i = 0; i < 2; i++) clients.push(await connectAutobahn(tr.url));
    await clients[0]!.session.register('com.example.status.echo', (args: unknown[]) => args[0]);
    expect(await clients[1]!.session.call('com.example.status.echo', ['hi'])).to.equal('hi');

    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    // The page itself needs the token (a reverse proxy would add the header); its script takes the
    // token from the URL fragment for status.json.
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
    const response = await page.goto(`${tr.router.opsAddress!.url}/status#token=${TOKEN}`, { timeout: 15000 });
    expect(response?.status()).to.equal(200);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10000 });

    expect(await page.textContent('#session-count')).to.equal('2');
    expect(await page.textContent('#registration-count')).to.equal('1');
    expect(await page.textContent('#state')).to.equal('up');
    const realms = await page.$$eval('#realms tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(realms).to.deep.equal([['realm1', '2', '1', '0', '0']]);
    const sessionRows = await page.$$eval('#sessions tbody tr', (rows) => rows.map((r) => r.querySelector('td')!.textContent));
    expect(sessionRows).to.deep.equal(['realm1', 'realm1']);
    const counters = await page.$$eval('#counters tbody tr', (rows) => Object.fromEntries(rows.map((r) => {
      const [name, value] = [...r.querySelectorAll('td')].map((td) => td.textContent);
      return [name, value];
    })));
    expect(counters['messages in: CALL']).to.equal('1');
    expect(counters['messages out: WELCOME']).to.equal('2');

    // Live refresh: a third client shows up within a couple of refreshes.
    clients.push(await connectAutobahn(tr.url));
    await page.waitForFunction(() => document.getElementById('session-count')!.textContent === '3', undefined, { timeout: 8000 });

    await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 10000 });
    expect(existsSync(SCREENSHOT)).to.equal(true);
    expect(errors, 'no script errors').to.deep.equal([]);
  });
});
