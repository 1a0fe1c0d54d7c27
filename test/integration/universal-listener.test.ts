// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { signRequest } from '../../auth/http-signature.js';
import { createRouter, type Router } from '../../router/index.js';
import { readmeBlock } from '../helpers/readme.js';
import { originOutcome } from '../helpers/upgrade.js';
import { ALLOW_ALL, startRouter, type TestRouter } from '../helpers/router.js';
import { within } from '../helpers/promises.js';
import { withTimeout } from '../helpers/wait.js';

/**
 * Issue 14 item 7: one port for WebSocket, RawSocket and the HTTP bridge (`"type": "universal"`),
 * with autobahn-js over both WAMP transports and curl for the bridge, on the same port and under
 * the same Origin policy and connection caps; and the bridge on an attach()ed application server.
 */

const SECRET = 'universal-deploy-secret-0123456789';
const REALM = {
  name: 'realm1',
  roles: [{ name: 'anonymous', permissions: ALLOW_ALL }],
  auth: { anonymous: { role: 'anonymous' } },
  http: { keys: { deploy: { secret: SECRET, role: 'anonymous' } } },
};

interface CurlResult { status: number; body: string }

/** curl (the real one) with `args`; the status code comes from `-w`. */
function curl(...args: string[]): Promise<CurlResult> {
  return withTimeout(new Promise((resolve, reject) => {
    execFile('curl', ['-s', '--max-time', '5', '-w', '\n%{http_code}', ...args], (error, stdout) => {
      if (error && !stdout) return reject(error);
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  }), 8000, 'curl');
}

/** A signed bridge request made with curl: challenge, then POST `path` with the signature. */
async function curlSigned(base: string, route: '/call' | '/publish', body: unknown, signedPath: string = route): Promise<CurlResult> {
  const challenge = await curl(`${base}/auth/challenge?key=deploy`);
  expect(challenge.status, challenge.body).to.equal(200);
  const { nonce } = JSON.parse(challenge.body) as { nonce: string };
  const text = JSON.stringify(body);
  return curl('-X', 'POST', `${base}${route}`, '-H', 'content-type: application/json', '-H', 'x-switchyard-key: deploy',
    '-H', `x-switchyard-nonce: ${nonce}`, '-H', `x-switchyard-signature: ${signRequest(SECRET, 'POST', signedPath, nonce, text)}`,
    '--data-binary', text);
}

describe('universal listener: WebSocket, RawSocket and the HTTP bridge on one port', function () {
  this.timeout(20000);
  let tr: TestRouter | undefined;
  const clients: AbClient[] = [];

  before(function () {
    try {
      execFileSync('curl', ['--version'], { stdio: 'ignore' });
    } catch {
      console.log('      (curl not found: skipped)');
      this.skip();
    }
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    await tr?.stop();
    tr = undefined;
  });

  const rawsocket = (port: number) => ({ transports: [{ type: 'rawsocket', host: '127.0.0.1', port }] });

  it('autobahn-js over WebSocket and over RawSocket, and curl on the bridge, all on the one port', async () => {
    tr = await startRouter({ realms: [REALM] }, { type: 'universal' });
    const { port } = tr;
    expect(tr.addresses[0]!.urls).to.deep.equal([`ws://127.0.0.1:${port}/ws`, `rs://127.0.0.1:${port}`, `http://127.0.0.1:${port}`]);

    const overWs = await connectAutobahn(tr.url);
    const overRs = await connectAutobahn('', 'json', rawsocket(port));
    clients.push(overWs, overRs);
    expect(overRs.connection.transport.info.type).to.equal('rawsocket');
    await within(overWs.session.register('com.example.add', (args: number[]) => args[0]! + args[1]!), 'register');
    expect(await within(overRs.session.call('com.example.add', [2, 3]), 'RawSocket → WebSocket call')).to.equal(5);
    const events: unknown[] = [];
    await within(overRs.session.subscribe('com.example.news', (args: unknown[]) => events.push(args[0])), 'subscribe');

    const base = `http://127.0.0.1:${port}`;
    const called = await curlSigned(base, '/call', { realm: 'realm1', procedure: 'com.example.add', args: [40, 2] });
    expect(called.status, called.body).to.equal(200);
    expect(JSON.parse(called.body)).to.deep.equal({ args: [42], kwargs: {} });
    const published = await curlSigned(base, '/publish', { realm: 'realm1', topic: 'com.example.news', args: ['via curl'] });
    expect(published.status, published.body).to.equal(200);
    await withTimeout((async () => { while (events.length === 0) await new Promise((r) => setTimeout(r, 10)); })(), 3000, 'event');
    expect(events).to.deep.equal(['via curl']);

    // Plain HTTP on the WebSocket path is 426; any other path that is not a bridge route is 404.
    expect((await curl(`${base}/ws`)).status).to.equal(426);
    expect((await curl(`${base}/nothing-here`)).status).to.equal(404);
  });

  it("the README's universal listener config, as written but on a free port, serves both WAMP transports", async () => {
    const config = JSON.parse(readmeBlock('## Configuration', 'json')) as { listeners: Record<string, unknown>[]; realms: unknown[] };
    expect(config.listeners).to.deep.equal([{ type: 'universal', host: '127.0.0.1', port: 8080 }]);
    tr = await startRouter({ ...config, listeners: [{ ...config.listeners[0], port: 0 }] });
    const overWs = await connectAutobahn(tr.addresses[0]!.urls[0]!);
    const overRs = await connectAutobahn('', 'json', rawsocket(tr.port));
    clients.push(overWs, overRs);
    await within(overWs.session.register('com.example.echo', (args: unknown[]) => args[0]), 'register');
    expect(await within(overRs.session.call('com.example.echo', ['hi']), 'call')).to.equal('hi');
  });

  it('one Origin policy for WebSocket and the bridge; an allowlisted origin passes both', async () => {
    tr = await startRouter({ realms: [REALM] }, { type: 'universal', allowedOrigins: ['https://app.example'] });
    const base = `http://127.0.0.1:${tr.port}`;
    expect(await originOutcome(tr.url, 'https://evil.example')).to.equal(403);
    expect((await curl('-H', 'origin: https://evil.example', `${base}/auth/challenge?key=deploy`)).status).to.equal(403);
    expect(await originOutcome(tr.url, 'https://app.example')).to.equal('open');
    expect((await curl('-H', 'origin: https://app.example', `${base}/auth/challenge?key=deploy`)).status).to.equal(200);
    const refusals = tr.logs.filter((line) => line.event === 'listener.origin_refused');
    expect(refusals.map((line) => line.listener)).to.deep.equal(['listeners[0]', 'listeners[0]']);
  });

  it('one set of connection caps: the per-address cap counts WebSocket, RawSocket and HTTP connections together', async () => {
    tr = await startRouter({ realms: [REALM], limits: { maxConnectionsPerIp: 2 } }, { type: 'universal' });
    clients.push(await connectAutobahn(tr.url), await connectAutobahn('', 'json', rawsocket(tr.port)));
    const refused = await curl(`http://127.0.0.1:${tr.port}/auth/challenge?key=deploy`);
    expect(refused.status).to.equal(503);
    await clients.pop()!.close();
    await withTimeout((async () => {
      while ((await curl(`http://127.0.0.1:${tr!.port}/auth/challenge?key=deploy`)).status !== 200) await new Promise((r) => setTimeout(r, 20));
    })(), 3000, 'a freed slot');
  });

  describe('router.attach(server, { bridgePath })', () => {
    let router: Router | undefined;
    let server: Server | undefined;

    afterEach(async () => {
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      await router?.close();
      await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
      router = undefined;
      server = undefined;
    });

    it('serves the bridge under the prefix and WAMP on the path; every other request reaches the application', async () => {
      router = createRouter({ listeners: [], realms: [REALM] });
      server = createServer((req, res) => res.end(`app: ${req.url}`));
      router.attach(server, { path: '/ws', bridgePath: '/wamp' });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      const callee = await connectAutobahn(`ws://127.0.0.1:${port}/ws`);
      clients.push(callee);
      await within(callee.session.register('com.example.add', (args: number[]) => args[0]! + args[1]!), 'register');

      // The signed PATH is the route without the prefix (what `switchyard http-call --url …/wamp` signs).
      const called = await curlSigned(`http://127.0.0.1:${port}/wamp`, '/call', { realm: 'realm1', procedure: 'com.example.add', args: [1, 2] });
      expect(called.status, called.body).to.equal(200);
      expect(JSON.parse(called.body).args).to.deep.equal([3]);
      expect(await curl(`http://127.0.0.1:${port}/hello`)).to.deep.equal({ status: 200, body: 'app: /hello' });

      // Detached on close: the application gets the bridge's paths back.
      await router.close();
      router = undefined;
      expect(await curl(`http://127.0.0.1:${port}/wamp/call`)).to.deep.equal({ status: 200, body: 'app: /wamp/call' });
    });
  });
});
