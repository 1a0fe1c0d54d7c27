// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { frame, FrameType, handshakeBytes, RawSocketClient } from '../helpers/rawsocket-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { withTimeout } from '../helpers/wait.js';

/**
 * Issue 7, TLS: `tls: {key, cert}` on a listener serves wss, and TLS RawSocket on a rawsocket
 * listener. The certificate is self-signed and generated here (skipped when openssl is missing).
 */

function generateCertificate(dir: string): { key: string; cert: string } | undefined {
  const base = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')];
  // With a subjectAltName where openssl supports -addext (1.1.1+); Node falls back to the CN otherwise.
  for (const args of [[...base, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], base]) {
    try {
      execFileSync('openssl', args, { stdio: 'ignore' });
      return { key: readFileSync(join(dir, 'k'), 'utf8'), cert: readFileSync(join(dir, 'c'), 'utf8') };
    } catch {
      // try the next form, or give up
    }
  }
  return undefined;
}

describe('robustness: TLS listeners (self-signed certificate)', function () {
  this.timeout(20000);
  let dir: string;
  let pem: { key: string; cert: string } | undefined;
  let tr: TestRouter | undefined;
  const cleanup: (() => unknown)[] = [];

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-'));
    pem = generateCertificate(dir);
    if (!pem) {
      console.log('      (openssl not available: TLS tests skipped)');
      this.skip();
    }
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    // Key and certificate by file path (the other accepted form is inline PEM, used for RawSocket).
    tr = await startRouter({
      listeners: [
        { type: 'websocket', host: '127.0.0.1', port: 0, tls: { key: join(dir, 'k'), cert: join(dir, 'c') } },
        { type: 'rawsocket', host: '127.0.0.1', port: 0, tls: { key: pem!.key, cert: pem!.cert, minVersion: 'TLSv1.3' } },
      ],
    });
  });

  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
    await tr?.stop();
  });

  it('wss: autobahn-js joins with the CA, and calls across wss and TLS RawSocket', async () => {
    expect(tr!.url).to.match(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect(tr!.addresses[1]!.url).to.match(/^rss:\/\/127\.0\.0\.1:\d+$/);
    const callee: AbClient = await connectAutobahn(tr!.url, 'msgpack', { tlsConfiguration: { ca: pem!.cert, cert: pem!.cert, key: pem!.key } });
    cleanup.push(() => callee.close());
    await callee.session.register('com.example.tls.add', (args: number[]) => args[0]! + args[1]!);

    const { client } = await RawSocketClient.joined(tr!.addresses[1]!.port, { serializer: 'cbor', tls: { ca: pem!.cert } });
    cleanup.push(() => client.destroy());
    client.send([48, 1, {}, 'com.example.tls.add', [20, 22]]);
    expect(await client.next()).to.deep.equal([50, 1, {}, [42]]);
    expect(tr!.router.connectionCount).to.equal(2);
  });

  it('wss refuses a client that does not trust the certificate; plain ws and plain RawSocket are not spoken', async () => {
    const untrusted = await withTimeout(new Promise<string>((resolve) => {
      const ws = new WebSocket(tr!.url, ['wamp.2.json']);
      ws.once('open', () => { ws.terminate(); resolve('open'); });
      ws.once('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message));
    }), 3000, 'untrusted wss');
    expect(untrusted).to.match(/SELF_SIGNED|DEPTH_ZERO|UNABLE_TO_VERIFY/);

    const plain = await withTimeout(new Promise<string>((resolve) => {
      const ws = new WebSocket(tr!.url.replace('wss:', 'ws:'), ['wamp.2.json']);
      ws.once('open', () => { ws.terminate(); resolve('open'); });
      ws.once('error', () => resolve('refused'));
    }), 3000, 'plain ws on a TLS port');
    expect(plain).to.equal('refused');

    // Plain RawSocket bytes (handshake and HELLO) on the TLS port: dropped, no RawSocket reply.
    const raw = await RawSocketClient.open(tr!.addresses[1]!.port, {
      handshake: Buffer.concat([handshakeBytes(1), frame(FrameType.wamp, JSON.stringify([1, 'realm1', { roles: { caller: {} } }]))]),
    });
    cleanup.push(() => raw.destroy());
    await raw.waitClosed(2000);
    expect(raw.reply).to.equal(undefined);
  });

  it('TLS RawSocket honours minVersion (TLSv1.3 here): a TLSv1.2-only client is refused', async () => {
    const outcome = await withTimeout(new Promise<string>((resolve) => {
      const socket = tlsConnect({ port: tr!.addresses[1]!.port, host: '127.0.0.1', ca: pem!.cert, servername: 'localhost', maxVersion: 'TLSv1.2' });
      socket.once('secureConnect', () => { socket.destroy(); resolve('connected'); });
      socket.once('error', (error: Error & { code?: string }) => resolve(error.code ?? 'error'));
    }), 3000, 'TLSv1.2 client');
    expect(outcome).to.not.equal('connected');
    expect(tr!.router.connectionCount).to.equal(0);
  });
});
