import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { serve } from './lib/ipc.js';

/**
 * The baseline: a trivial WebSocket relay with no WAMP logic. Clients connect to
 * `/?pair=N&side=a|b`; every frame from one side of a pair is forwarded unchanged (text stays
 * text) to the other. The corked variant corks the destination socket and uncorks it at the
 * end of the tick, so all frames forwarded from one read leave in one write.
 */

interface Corkable {
  cork(): void;
  uncork(): void;
}

const corkMode = process.argv.includes('--cork');
const pairs = new Map<string, { a?: WebSocket; b?: WebSocket }>();
const corked = new Set<Corkable>();
let scheduled = false;
const flush = () => {
  scheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
};

function forward(to: WebSocket | undefined, data: Buffer, isBinary: boolean): void {
  if (!to || to.readyState !== WebSocket.OPEN) return;
  if (corkMode) {
    const socket = (to as unknown as { _socket: Corkable })._socket;
    if (!corked.has(socket)) {
      socket.cork();
      corked.add(socket);
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    }
  }
  to.send(data, { binary: isBinary });
}

function connected(ws: WebSocket, req: IncomingMessage): void {
  const url = new URL(req.url ?? '/', 'http://relay');
  const pairId = url.searchParams.get('pair') ?? '0';
  const side = url.searchParams.get('side') === 'b' ? 'b' : 'a';
  let pair = pairs.get(pairId);
  if (!pair) pairs.set(pairId, (pair = {}));
  pair[side] = ws;
  const other = side === 'a' ? 'b' : 'a';
  const p = pair;
  ws.on('message', (data: Buffer, isBinary: boolean) => forward(p[other], data, isBinary));
  ws.on('error', () => undefined);
  ws.on('close', () => {
    if (p[side] === ws) delete p[side];
  });
}

serve({
  start() {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({
        host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false,
        handleProtocols: (offered: Set<string>) => offered.values().next().value ?? false,
      });
      wss.on('connection', connected);
      wss.once('error', reject);
      wss.once('listening', () => {
        const { port } = wss.address() as AddressInfo;
        resolve({ url: `ws://127.0.0.1:${port}/`, pid: process.pid, corked: corkMode });
      });
    });
  },
  mem() {
    return process.memoryUsage();
  },
  stop() {
    setImmediate(() => process.exit(0));
    return true;
  },
});
