/**
 * What one salted WAMP-CRA login costs the CLIENT: PBKDF2-HMAC-SHA256 key derivation at a given
 * iteration count, in the clients people use (issue 14.5):
 * - autobahn-js `auth_cra.derive_key` in Node (pure-JS CryptoJS),
 * - autobahn-browser `autobahn.auth_cra.derive_key` in headless Chromium (the same CryptoJS code),
 * - Autobahn|Python `autobahn.wamp.auth.derive_key` (hashlib, C),
 * - WebCrypto `crypto.subtle.deriveBits` (native PBKDF2, async) in Node and in headless Chromium,
 *   which the README's autobahn-js recipe uses instead of CryptoJS,
 * - Node's own `crypto.pbkdf2Sync` (OpenSSL) for reference.
 * The router never derives per login (it stores the derived key), so this is the client's price.
 *
 *   npm run build:tests && node dist/bench/derive-key-cost.js [--iterations 1000,10000,100000,600000] [--json]
 *
 * Each figure is the median of a few runs (one run above 100,000 iterations). A client that is not
 * installed (Chromium at /usr/bin/chromium, /usr/bin/python3 with python3-autobahn) is reported as
 * skipped. Nothing here asserts a limit: figures go in the README ("WAMP-CRA with a salted key").
 */
import { execFileSync } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const CHROMIUM = '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';
const PASSWORD = 'correct horse battery staple';
const SALT = 'q3Xv0yRkN1bW8sT5fJ2hLw';
const KEYLEN = 32;

type Measure = (iterations: number, runs: number) => Promise<number> | number;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const runsFor = (iterations: number) => (iterations > 100_000 ? 1 : 3);

function timed(runs: number, once: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    once();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

const nodeCrypto: Measure = (iterations, runs) => timed(runs, () => pbkdf2Sync(PASSWORD, SALT, iterations, KEYLEN, 'sha256'));

/** WebCrypto PBKDF2, as the README recipe calls it; runs in Node and, serialized, in the page. */
async function subtleDerive(password: string, salt: string, iterations: number, keylen: number): Promise<number> {
  const start = performance.now();
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new TextEncoder().encode(salt), iterations }, material, keylen * 8);
  return performance.now() - start;
}

const webCryptoNode: Measure = async (iterations, runs) => {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await subtleDerive(PASSWORD, SALT, iterations, KEYLEN));
  return median(times);
};

const autobahnNode: Measure = (iterations, runs) => {
  const cra = require('autobahn').auth_cra;
  return timed(runs, () => cra.derive_key(PASSWORD, SALT, iterations, KEYLEN));
};

const python: Measure = (iterations, runs) => {
  const script = `
import json, time
from autobahn.wamp import auth
times = []
for _ in range(${runs}):
    t = time.perf_counter(); auth.derive_key(${JSON.stringify(PASSWORD)}, ${JSON.stringify(SALT)}, ${iterations}, ${KEYLEN}); times.append((time.perf_counter() - t) * 1000)
print(json.dumps(sorted(times)[len(times) // 2]))`;
  return Number(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', timeout: 600_000 }).trim());
};

/** Chromium runs every count in one browser session; returns a measure bound to it. */
async function chromium(): Promise<{ measure: Measure; subtle: Measure; close: () => Promise<void> }> {
  const { chromium: launcher } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'switchyard-derive-key-'));
  const browser = await launcher.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  // WebCrypto's subtle API exists only in secure contexts: https, or http on a loopback address.
  const server = createServer((_req, res) => res.end('<!doctype html><title>derive-key cost</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.addScriptTag({ path: require.resolve('autobahn-browser/autobahn.min.js') });
  const measure: Measure = (iterations, runs) => page.evaluate(([password, salt, n, keylen, count]) => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      (globalThis as any).autobahn.auth_cra.derive_key(password, salt, n, keylen);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  }, [PASSWORD, SALT, iterations, KEYLEN, runs] as const);
  const subtle: Measure = async (iterations, runs) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      times.push(await page.evaluate(`(${subtleDerive.toString()})(${JSON.stringify(PASSWORD)}, ${JSON.stringify(SALT)}, ${iterations}, ${KEYLEN})`) as number);
    }
    return median(times);
  };
  return {
    measure,
    subtle,
    close: async () => {
      await browser.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function pythonAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import autobahn.wamp.auth'], { timeout: 10_000, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { iterations: { type: 'string' }, json: { type: 'boolean' } } });
  const counts = (values.iterations ?? '1000,10000,100000,600000').split(',').map(Number);
  const browser = existsSync(CHROMIUM) ? await chromium() : undefined;
  const clients: [string, Measure | undefined][] = [
    ['autobahn-js, Node (CryptoJS)', autobahnNode],
    ['autobahn-browser, headless Chromium (CryptoJS)', browser?.measure],
    ['WebCrypto crypto.subtle, Node', webCryptoNode],
    ['WebCrypto crypto.subtle, headless Chromium', browser?.subtle],
    ['Autobahn Python (hashlib)', pythonAvailable() ? python : undefined],
    ['Node crypto.pbkdf2Sync (reference)', nodeCrypto],
  ];
  const rows: { client: string; iterations: number; ms: number | null }[] = [];
  try {
    for (const [client, measure] of clients) {
      await measure?.(1000, 2); // warm-up: JIT, first-call costs
      for (const iterations of counts) {
        const ms = measure ? await measure(iterations, runsFor(iterations)) : null;
        rows.push({ client, iterations, ms });
        process.stderr.write(`${client} @ ${iterations}: ${ms === null ? 'skipped' : `${ms.toFixed(1)} ms`}\n`);
      }
    }
  } finally {
    await browser?.close();
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ node: process.version, rows }) + '\n');
    return;
  }
  const header = `| client | ${counts.map((n) => `${n.toLocaleString('en')} it.`).join(' | ')} |`;
  const lines = [header, `|---|${counts.map(() => '---:').join('|')}|`];
  for (const [client] of clients) {
    const cells = counts.map((n) => rows.find((r) => r.client === client && r.iterations === n)!.ms);
    lines.push(`| ${client} | ${cells.map((ms) => (ms === null ? 'skipped' : `${ms < 10 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en')} ms`)).join(' | ')} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`derive-key-cost: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
