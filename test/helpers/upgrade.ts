import WebSocket from 'ws';
import { withTimeout } from './wait.js';

export type UpgradeOutcome = { status: 'open'; ws: WebSocket } | { status: number };

/** Try a WebSocket upgrade; resolves with the open socket or the HTTP status of the refusal. */
export function upgrade(url: string, protocols: string[] | undefined, options: WebSocket.ClientOptions = {}): Promise<UpgradeOutcome> {
  return withTimeout(new Promise<UpgradeOutcome>((resolve, reject) => {
    const ws = protocols === undefined ? new WebSocket(url, options) : new WebSocket(url, protocols, options);
    ws.once('open', () => resolve({ status: 'open', ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
  }), 3000, 'upgrade');
}

/** The outcome of a `wamp.2.json` upgrade from a page of `origin` (none: a non-browser client); an open socket is closed. */
export async function originOutcome(url: string, origin: string | undefined): Promise<number | 'open'> {
  const outcome = await upgrade(url, ['wamp.2.json'], origin === undefined ? {} : { origin });
  if (outcome.status === 'open') outcome.ws.terminate();
  return outcome.status;
}
