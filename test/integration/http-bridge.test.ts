import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import '../helpers/quiet-autobahn.js';
import autobahn from 'autobahn';
import { NonceStore, signRequest } from '../../auth/http-signature.js';
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { ALLOW_ALL, startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../router/cli.js', import.meta.url));
const SECRETS = { deploy: 'deploy-secret-0123456789', other: 'other-secret-0123456789', viewer: 'viewer-secret-0123456789' };
const NONCE_TTL_MS = 400;
const MAX_BODY = 4096;

type Key = keyof typeof SECRETS;

interface Answer {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

describe('HTTP bridge', function () {
  let r: TestRouter;
  let base: string;
  let client: AbClient;
  const events: { args: unknown[]; kwargs: Record<string, unknown>; details: any }[] = [];
  const invocations: { args: unknown[]; details: any }[] = [];
  let markers = 0;

  before(async () => {
    r = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'http', host: '127.0.0.1', port: 0 }],
      limits: { httpNonceTtlMs: NONCE_TTL_MS, httpMaxBodyBytes: MAX_BODY, httpRateRequestsPerSecond: 1000 },
      realms: [{
        name: 'realm1',
        roles: [
          { name: 'anonymous', permissions: ALLOW_ALL },
          {
            name: 'backend',
            permissions: [
              { uri: 'com.example.', match: 'prefix', allow: { publish: true, call: true }, disclose: { caller: true, publisher: true } },
              { uri: 'com.quiet.', match: 'prefix', allow: { publish: true, call: true } },
              // More literal components than the prefix: it decides for com.example.<x>.private (README precedence).
              { uri: 'com.example..private', match: 'wildcard', allow: {} },
            ],
          },
          { name: 'viewer', permissions: [{ uri: 'com.example.', match: 'prefix', allow: { subscribe: true } }] },
        ],
        auth: { anonymous: { role: 'anonymous' } },
        http: { keys: { deploy: { secret: SECRETS.deploy, role: 'backend' }, other: { secret: SECRETS.other, role: 'backend' }, viewer: { secret: SECRETS.viewer, role: 'viewer' } } },
      }],
    });
    expect(r.addresses[1]!.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    base = r.addresses[1]!.url;
    client = await connectAutobahn(r.url);
    const record = (args: unknown[], kwargs: Record<string, unknown>, details: any) => { events.push({ args, kwargs, details }); };
    await client.session.subscribe('com.example.deploy', record);
    await client.session.subscribe('com.quiet.deploy', record);
    await client.session.register('com.example.add', (args: number[], _kwargs: unknown, details: any) => {
      invocations.push({ args, details });
      return args[0]! + args[1]!;
    });
    await client.session.register('com.example.fail', () => {
      invocations.push({ args: [], details: {} });
      throw new (autobahn as any).Error('com.example.error.broken', ['it broke'], { code: 7 });
    });
  });

  after(async () => {
    await client?.close();
    await r?.stop();
  });

  async function challenge(key: string): Promise<{ nonce: string; expires: string }> {
    const res = await fetch(`${base}/auth/challenge?key=${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(3000) });
    expect(res.status).to.equal(200);
    return (await res.json()) as { nonce: string; expires: string };
  }

  async function send(path: string, body: string, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
    const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'GET' ? undefined : body, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, text, json, headers: res.headers };
  }

  /** A correctly signed request, with hooks to spoil one part of it. */
  async function signed(path: string, payload: Record<string, unknown>, spoil: {
    key?: Key; nonceFrom?: string; nonce?: string; secret?: string; signAs?: string; sentBody?: string; omit?: string;
  } = {}): Promise<Answer> {
    const key = spoil.key ?? 'deploy';
    const nonce = spoil.nonce ?? (await challenge(spoil.nonceFrom ?? key)).nonce;
    const body = JSON.stringify(payload);
    const signature = signRequest(spoil.secret ?? SECRETS[key] ?? 'x', 'POST', spoil.signAs ?? path, nonce, body);
    const headers: Record<string, string> = { 'x-switchyard-key': key, 'x-switchyard-nonce': nonce, 'x-switchyard-signature': signature };
    if (spoil.omit) delete headers[spoil.omit];
    return send(path, spoil.sentBody ?? body, headers);
  }

  const publishBody = (topic = 'com.example.deploy', args: unknown[] = ['v1']) => ({ realm: 'realm1', topic, args, kwargs: { env: 'prod' } });
  const callBody = (procedure = 'com.example.add', args: unknown[] = [2, 3]) => ({ realm: 'realm1', procedure, args });

  /** A good publication after a refusal: once it arrived, anything the refusal let through would have too. */
  async function expectNothingPublished(before: number): Promise<void> {
    const marker = `marker-${++markers}`;
    const res = await signed('/publish', publishBody('com.example.deploy', [marker]));
    expect(res.status, res.text).to.equal(200);
    await waitFor(() => events.some((e) => e.args[0] === marker), { what: marker });
    expect(events.slice(before).map((e) => e.args[0])).to.deep.equal([marker]);
  }

  it('a signed publish reaches an autobahn-js subscriber, publisher disclosed as the key', async () => {
    const before = events.length;
    const res = await signed('/publish', publishBody());
    expect(res.status, res.text).to.equal(200);
    expect(res.json.publication).to.be.a('number');
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    await waitFor(() => events.length > before, { what: 'event' });
    const event = events[before]!;
    expect(event.args).to.deep.equal(['v1']);
    expect(event.kwargs).to.deep.equal({ env: 'prod' });
    expect(event.details.publication).to.equal(res.json.publication);
    expect(event.details.publisher_authid).to.equal('deploy');
    expect(event.details.publisher_authrole).to.equal('backend');
  });

  it('without a disclose permission the publisher stays hidden', async () => {
    const before = events.length;
    const res = await signed('/publish', publishBody('com.quiet.deploy', ['quiet']));
    expect(res.status, res.text).to.equal(200);
    await waitFor(() => events.length > before, { what: 'event' });
    expect(events[before]!.args).to.deep.equal(['quiet']);
    expect(events[before]!.details.publisher_authid).to.equal(undefined);
  });

  it('a signed call returns the callee result; the callee sees the caller as the key', async () => {
    const before = invocations.length;
    const res = await signed('/call', callBody());
    expect(res.status, res.text).to.equal(200);
    expect(res.json).to.deep.equal({ args: [5], kwargs: {} });
    expect(invocations.length).to.equal(before + 1);
    expect(invocations[before]!.details.caller_authid).to.equal('deploy');
    expect(invocations[before]!.details.caller_authrole).to.equal('backend');
  });

  it('WAMP errors map to HTTP statuses with the error URI, args and kwargs', async () => {
    const failed = await signed('/call', callBody('com.example.fail', []));
    expect(failed.status).to.equal(502);
    expect(failed.json).to.deep.equal({ error: 'com.example.error.broken', args: ['it broke'], kwargs: { code: 7 } });
    const missing = await signed('/call', callBody('com.example.nothing'));
    expect(missing.status).to.equal(404);
    expect(missing.json.error).to.equal('wamp.error.no_such_procedure');
    const badUri = await signed('/publish', publishBody('com..bad'));
    expect(badUri.status).to.equal(400);
    expect(badUri.json.error).to.equal('wamp.error.invalid_uri');
    const badArgs = await signed('/call', { realm: 'realm1', procedure: 'com.example.add', args: 'nope' });
    expect(badArgs.status).to.equal(400);
    expect(badArgs.json.error).to.equal('wamp.error.invalid_argument');
  });

  describe('refusals: nothing published, nothing invoked', () => {
    const unauthorized = (res: Answer) => {
      expect(res.status, res.text).to.equal(401);
      expect(res.text).to.equal('');
    };

    it('a replayed nonce', async () => {
      const before = events.length;
      const { nonce } = await challenge('deploy');
      expect((await signed('/publish', publishBody(), { nonce })).status).to.equal(200);
      await waitFor(() => events.length > before, { what: 'first event' });
      const afterFirst = events.length;
      unauthorized(await signed('/publish', publishBody(), { nonce }));
      await expectNothingPublished(afterFirst);
    });

    it('an expired nonce', async () => {
      const before = events.length;
      const { nonce, expires } = await challenge('deploy');
      expect(Date.parse(expires) - Date.now()).to.be.within(0, NONCE_TTL_MS + 50);
      await sleep(NONCE_TTL_MS + 100);
      unauthorized(await signed('/publish', publishBody(), { nonce }));
      await expectNothingPublished(before);
    });

    it('a nonce issued to another key', async () => {
      const before = events.length;
      unauthorized(await signed('/publish', publishBody(), { nonceFrom: 'other' }));
      await expectNothingPublished(before);
    });

    it('a tampered body', async () => {
      const before = events.length;
      unauthorized(await signed('/publish', publishBody(), { sentBody: JSON.stringify(publishBody('com.example.deploy', ['evil'])) }));
      await expectNothingPublished(before);
    });

    it('a wrong signature, or one for another path', async () => {
      const before = events.length;
      unauthorized(await signed('/publish', publishBody(), { secret: 'not-the-secret-at-all' }));
      unauthorized(await signed('/publish', publishBody(), { signAs: '/call' }));
      await expectNothingPublished(before);
    });

    it('an unknown key: a challenge of the same shape that never works', async () => {
      const before = events.length;
      const known = await challenge('deploy');
      const unknown = await challenge('nobody');
      expect(Object.keys(unknown)).to.deep.equal(Object.keys(known));
      expect(unknown.nonce).to.match(/^[0-9a-f]{64}$/);
      const body = JSON.stringify(publishBody());
      unauthorized(await send('/publish', body, {
        'x-switchyard-key': 'nobody', 'x-switchyard-nonce': unknown.nonce, 'x-switchyard-signature': signRequest('guess', 'POST', '/publish', unknown.nonce, body),
      }));
      await expectNothingPublished(before);
    });

    it('missing headers, each one, and the nonce is burnt anyway', async () => {
      const before = events.length;
      for (const omit of ['x-switchyard-key', 'x-switchyard-nonce', 'x-switchyard-signature']) {
        unauthorized(await signed('/publish', publishBody(), { omit }));
      }
      const { nonce } = await challenge('deploy');
      unauthorized(await signed('/publish', publishBody(), { nonce, omit: 'x-switchyard-signature' }));
      unauthorized(await signed('/publish', publishBody(), { nonce }));
      await expectNothingPublished(before);
    });

    it('an oversize body is refused with 413', async () => {
      const before = events.length;
      const res = await signed('/publish', publishBody('com.example.deploy', ['x'.repeat(MAX_BODY)]));
      expect(res.status).to.equal(413);
      await expectNothingPublished(before);
    });

    it('a role without the permission gets 403 for publish and call', async () => {
      const beforeEvents = events.length;
      const beforeCalls = invocations.length;
      const pub = await signed('/publish', publishBody(), { key: 'viewer' });
      expect(pub.status, pub.text).to.equal(403);
      expect(pub.json.error).to.equal('wamp.error.not_authorized');
      const call = await signed('/call', callBody(), { key: 'viewer' });
      expect(call.status, call.text).to.equal(403);
      expect(call.json.error).to.equal('wamp.error.not_authorized');
      await expectNothingPublished(beforeEvents);
      expect(invocations.length).to.equal(beforeCalls);
    });

    it('the permission precedence holds for bridge keys: a wildcard deny narrows a prefix allow', async () => {
      const beforeEvents = events.length;
      const beforeCalls = invocations.length;
      await client.session.register('com.example.x.private', () => invocations.push({ args: ['private'], details: {} }));
      await client.session.subscribe('com.example.x.private', (args: unknown[], kwargs: Record<string, unknown>, details: any) => events.push({ args, kwargs, details }));
      const pub = await signed('/publish', publishBody('com.example.x.private'));
      expect(pub.status, pub.text).to.equal(403);
      const call = await signed('/call', callBody('com.example.x.private'));
      expect(call.status, call.text).to.equal(403);
      expect(call.json.error).to.equal('wamp.error.not_authorized');
      await expectNothingPublished(beforeEvents);
      expect(invocations.length).to.equal(beforeCalls);
    });

    it('refused calls invoke nothing', async () => {
      const before = invocations.length;
      unauthorized(await signed('/call', callBody(), { secret: 'wrong-secret-wrong-secret' }));
      unauthorized(await signed('/call', callBody(), { nonceFrom: 'other' }));
      unauthorized(await signed('/call', callBody(), { sentBody: JSON.stringify(callBody('com.example.add', [100, 1])) }));
      // The marker call: it is invoked, and is the only one.
      const ok = await signed('/call', callBody('com.example.add', [1, 1]));
      expect(ok.json).to.deep.equal({ args: [2], kwargs: {} });
      expect(invocations.slice(before).map((i) => i.args)).to.deep.equal([[1, 1]]);
    });

    it('wrong path 404, wrong method 405, foreign Origin 403, no CORS headers', async () => {
      expect((await send('/nowhere', '{}', {})).status).to.equal(404);
      const wrongMethod = await send('/publish', '', {}, 'GET');
      expect(wrongMethod.status).to.equal(405);
      expect(wrongMethod.headers.get('allow')).to.equal('POST');
      expect((await send('/auth/challenge?key=deploy', '{}', {})).status).to.equal(405);
      const foreign = await fetch(`${base}/auth/challenge?key=deploy`, { headers: { origin: 'https://evil.example' }, signal: AbortSignal.timeout(3000) });
      expect(foreign.status).to.equal(403);
      expect(foreign.headers.get('access-control-allow-origin')).to.equal(null);
      const before = events.length;
      const res = await signed('/publish', publishBody(), {});
      expect(res.status).to.equal(200);
      await waitFor(() => events.length > before, { what: 'event' });
    });
  });

  describe('CLI', () => {
    function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 8000, killSignal: 'SIGKILL' });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    }

    it('http-call and http-publish round trip, secret from the environment', async function () {
      this.timeout(20_000);
      const common = ['--url', base, '--key', 'deploy', '--realm', 'realm1'];
      const env = { SWITCHYARD_HTTP_SECRET: SECRETS.deploy };
      const called = await cli(['http-call', ...common, 'com.example.add', '[40, 2]'], env);
      expect(called.code, called.stderr).to.equal(0);
      expect(JSON.parse(called.stdout)).to.deep.equal({ args: [42], kwargs: {} });

      const before = events.length;
      const published = await cli(['http-publish', ...common, '--kwargs', '{"by":"cli"}', 'com.example.deploy', '["from-cli"]'], env);
      expect(published.code, published.stderr).to.equal(0);
      expect(JSON.parse(published.stdout).publication).to.be.a('number');
      await waitFor(() => events.length > before, { what: 'cli event' });
      expect(events[before]!.args).to.deep.equal(['from-cli']);
      expect(events[before]!.kwargs).to.deep.equal({ by: 'cli' });

      const wrong = await cli(['http-call', ...common, 'com.example.add', '[1, 2]'], { SWITCHYARD_HTTP_SECRET: 'wrong-secret-wrong' });
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.include('HTTP 401');
      const noSecret = await cli(['http-call', ...common, 'com.example.add'], { SWITCHYARD_HTTP_SECRET: '' });
      expect(noSecret.code).to.equal(2);
    });
  });
});

describe('NonceStore', () => {
  it('is single-use, bound to the key, expiring and bounded', () => {
    let t = 1000;
    const store = new NonceStore({ nonceTtlMs: 100, maxNonces: 3, now: () => t });
    const a = store.issue('k').nonce;
    expect(store.consume(a, 'k')).to.equal(true);
    expect(store.consume(a, 'k')).to.equal(false);
    const b = store.issue('k').nonce;
    expect(store.consume(b, 'other')).to.equal(false);
    expect(store.consume(b, 'k')).to.equal(false); // burnt by the wrong key's attempt
    const c = store.issue('k').nonce;
    t += 100;
    expect(store.consume(c, 'k')).to.equal(false);
    const unstored = store.issue('unknown', false).nonce;
    expect(store.consume(unstored, 'unknown')).to.equal(false);
    const many = [1, 2, 3, 4].map(() => store.issue('k').nonce);
    expect(store.size).to.equal(3);
    expect(store.consume(many[0]!, 'k')).to.equal(false); // the oldest was forgotten
    expect(store.consume(many[3]!, 'k')).to.equal(true);
  });
});
