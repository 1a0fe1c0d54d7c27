import type { AddressInfo, Socket } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { Outbox, WEBSOCKET_BINARY, WEBSOCKET_TEXT, writeChunks } from '../router/transport/outbox.js';
import { atEndOfTurn, type TurnWriter } from '../router/transport/write-batch.js';
import { serve } from './lib/ipc.js';
import { CODECS, type Codec } from './lib/wire.js';

/**
 * The second rpc baseline (issue 16): the least work a WAMP dealer can do per call, on the same
 * libraries as Switchyard (ws, JSON.parse / msgpackr). Every frame is decoded in full, because a
 * dealer must read the type, request ID and procedure and must not pass on a frame it has not
 * checked; a CALL finds its callee in a map and is remembered under its INVOCATION request ID
 * until the YIELD; INVOCATION and RESULT are encoded whole. Frames leave the way Switchyard's do
 * (router/transport/outbox.ts: framed here, one buffer per socket at the end of the tick), the
 * cheapest way to write them here, so that the comparison with Switchyard is about the WAMP work
 * alone. Nothing else: no authentication, no permissions, no URI or option checks, no limits, no
 * metrics, no cancel or timeout, no errors beyond "no callee". Its calls/s ÷ the corked relay's
 * round trips/s is what WAMP's own minimum costs on this stack; Switchyard's calls/s ÷ its
 * calls/s is what everything a production router adds to that costs.
 *
 * It speaks exactly what the bench's callers and responder send: HELLO, REGISTER, CALL, YIELD,
 * GOODBYE.
 */

const HELLO = 1, WELCOME = 2, GOODBYE = 6, ERROR = 8, CALL = 48, RESULT = 50, REGISTER = 64, REGISTERED = 65, INVOCATION = 68, YIELD = 70;

interface Registration {
  id: number;
  callee: Peer;
}

interface PendingCall {
  caller: Peer;
  request: number;
}

interface Peer extends TurnWriter {
  ws: WebSocket;
  codec: Codec;
  /** INVOCATION request IDs toward this peer as a callee, and the calls they belong to. */
  nextInvocation: number;
  invocations: Map<number, PendingCall>;
  /** What this peer is sent during the current tick. */
  outbox: Outbox;
}

const registrations = new Map<string, Registration>();
let nextSessionId = 1;
let nextRegistrationId = 1;

/** Queued for the end of the tick, as Switchyard's transports queue (router/transport/write-batch.ts). */
function send(peer: Peer, message: unknown[]): void {
  const frame = peer.codec.encode(message);
  if (peer.outbox.empty) atEndOfTurn(peer);
  peer.outbox.push(frame);
}

/** The end of the tick: what `peer` was sent goes to its socket as one buffer. */
function flush(peer: Peer): void {
  const chunks = peer.outbox.take();
  if (peer.ws.readyState === peer.ws.OPEN) writeChunks((peer.ws as unknown as { _socket: Socket })._socket, chunks);
}

/** CALL [48, request, options, procedure, args?, kwargs?] → INVOCATION [68, invocation, registration, details, args?, kwargs?]. */
function call(caller: Peer, message: unknown[]): void {
  const registration = registrations.get(message[3] as string);
  if (!registration) return send(caller, [ERROR, CALL, message[1], {}, 'wamp.error.no_such_procedure']);
  const callee = registration.callee;
  const invocation = callee.nextInvocation++;
  callee.invocations.set(invocation, { caller, request: message[1] as number });
  send(callee, [INVOCATION, invocation, registration.id, {}, ...message.slice(4)]);
}

/** YIELD [70, invocation, options, args?, kwargs?] → RESULT [50, request, details, args?, kwargs?]. */
function yielded(callee: Peer, message: unknown[]): void {
  const pending = callee.invocations.get(message[1] as number);
  if (!pending) return;
  callee.invocations.delete(message[1] as number);
  send(pending.caller, [RESULT, pending.request, {}, ...message.slice(3)]);
}

function received(peer: Peer, data: Buffer): void {
  let message: unknown[];
  try {
    message = peer.codec.decode(data);
  } catch {
    return void peer.ws.close(1002);
  }
  switch (message[0]) {
    case CALL: return call(peer, message);
    case YIELD: return yielded(peer, message);
    case HELLO: return send(peer, [WELCOME, nextSessionId++, { roles: { dealer: {}, broker: {} } }]);
    case REGISTER: {
      const id = nextRegistrationId++;
      registrations.set(message[3] as string, { id, callee: peer });
      return send(peer, [REGISTERED, message[1], id]);
    }
    case GOODBYE: return send(peer, [GOODBYE, {}, 'wamp.close.goodbye_and_out']);
  }
}

function connected(ws: WebSocket): void {
  const codec = ws.protocol === CODECS.msgpack.protocol ? CODECS.msgpack : CODECS.json;
  const peer: Peer = {
    ws, codec, nextInvocation: 1, invocations: new Map(), outbox: new Outbox(codec.binary ? WEBSOCKET_BINARY : WEBSOCKET_TEXT),
    endOfTurn: () => flush(peer),
  };
  ws.on('message', (data: Buffer) => received(peer, data));
  ws.on('error', () => undefined);
  ws.on('close', () => {
    for (const [uri, registration] of registrations) if (registration.callee === peer) registrations.delete(uri);
  });
}

serve({
  start() {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({
        host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false,
        handleProtocols: (offered: Set<string>) => [...offered].find((p) => p === CODECS.json.protocol || p === CODECS.msgpack.protocol) ?? false,
      });
      wss.on('connection', connected);
      wss.once('error', reject);
      wss.once('listening', () => {
        const { port } = wss.address() as AddressInfo;
        resolve({ url: `ws://127.0.0.1:${port}/`, pid: process.pid });
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
