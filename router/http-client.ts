import { parseArgs } from 'node:util';
import { signRequest } from '../auth/http-signature.js';

/**
 * The tiny client of the HTTP bridge (`switchyard http-call` / `switchyard http-publish`):
 * fetches a challenge, signs, sends. The secret comes from $SWITCHYARD_HTTP_SECRET, never argv.
 */

export interface BridgeRequest {
  /** Base URL of the http listener, e.g. `http://127.0.0.1:8081`. */
  url: string;
  key: string;
  secret: string;
  /** `/publish` or `/call`. */
  path: '/publish' | '/call';
  body: Record<string, unknown>;
  timeoutMs?: number;
}

export interface BridgeResponse {
  status: number;
  body: unknown;
}

/** One signed request: GET /auth/challenge, then the signed POST. */
export async function bridgeRequest(request: BridgeRequest): Promise<BridgeResponse> {
  const signal = AbortSignal.timeout(request.timeoutMs ?? 15_000);
  const base = request.url.replace(/\/+$/, '');
  const challenge = await fetch(`${base}/auth/challenge?key=${encodeURIComponent(request.key)}`, { signal });
  if (challenge.status !== 200) return { status: challenge.status, body: await readJson(challenge) };
  const { nonce } = (await challenge.json()) as { nonce: string };
  const body = JSON.stringify(request.body);
  const response = await fetch(`${base}${request.path}`, {
    method: 'POST',
    signal,
    headers: {
      'content-type': 'application/json',
      'x-switchyard-key': request.key,
      'x-switchyard-nonce': nonce,
      'x-switchyard-signature': signRequest(request.secret, 'POST', request.path, nonce, body),
    },
    body,
  });
  return { status: response.status, body: await readJson(response) };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const HTTP_CLIENT_USAGE = `usage: switchyard http-call    --url URL --key KEYID --realm REALM [--kwargs JSON] [--timeout MS] PROCEDURE [JSON_ARGS]
       switchyard http-publish --url URL --key KEYID --realm REALM [--kwargs JSON] [--timeout MS] TOPIC [JSON_ARGS]

  Sends one challenge-signed request to an "http" listener. The key's secret is read from
  $SWITCHYARD_HTTP_SECRET (never from arguments). JSON_ARGS is a JSON list of positional
  arguments, --kwargs a JSON object. Prints the JSON answer; exit 0 on HTTP 200, 1 otherwise,
  2 on bad usage.
`;

/** `http-call` / `http-publish`; returns the exit status. */
export async function httpClientCommand(command: 'http-call' | 'http-publish', argv: string[]): Promise<number> {
  const usage = (message: string) => {
    process.stderr.write(`switchyard ${command}: ${message}\n\n${HTTP_CLIENT_USAGE}`);
    return 2;
  };
  let values: { url?: string; key?: string; realm?: string; kwargs?: string; timeout?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, key: { type: 'string' }, realm: { type: 'string' }, kwargs: { type: 'string' }, timeout: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (!values.url || !values.key || !values.realm) return usage('--url, --key and --realm are required');
  if (positionals.length < 1 || positionals.length > 2) return usage(`expected ${command === 'http-call' ? 'PROCEDURE' : 'TOPIC'} [JSON_ARGS]`);
  const secret = process.env.SWITCHYARD_HTTP_SECRET;
  if (!secret) return usage('set SWITCHYARD_HTTP_SECRET to the key\'s secret');
  let args: unknown;
  let kwargs: unknown;
  try {
    args = positionals[1] === undefined ? [] : JSON.parse(positionals[1]);
    kwargs = values.kwargs === undefined ? {} : JSON.parse(values.kwargs);
  } catch (err) {
    return usage(`invalid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(args)) return usage('JSON_ARGS must be a JSON list');
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) return usage('--kwargs must be a JSON object');
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)) return usage('--timeout must be a positive integer (ms)');

  const [uri] = positionals as [string];
  const body = command === 'http-call'
    ? { realm: values.realm, procedure: uri, args, kwargs, options: timeoutMs ? { timeout: timeoutMs } : {} }
    : { realm: values.realm, topic: uri, args, kwargs, options: {} };
  try {
    const response = await bridgeRequest({
      url: values.url, key: values.key, secret, path: command === 'http-call' ? '/call' : '/publish', body,
      timeoutMs: (timeoutMs ?? 10_000) + 5_000,
    });
    if (response.body !== undefined) process.stdout.write(JSON.stringify(response.body) + '\n');
    if (response.status !== 200) process.stderr.write(`switchyard ${command}: HTTP ${response.status}\n`);
    return response.status === 200 ? 0 : 1;
  } catch (err) {
    process.stderr.write(`switchyard ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}
