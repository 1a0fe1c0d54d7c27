#!/usr/bin/env node
/**
 * The router's own work per call, without sockets (issue 16), after `npx tsc -p tsconfig.json`:
 *
 *   node scripts/rpc-work.mjs [--serializer json|msgpack|cbor] [--calls 1000000] [--batch 100] [--rounds 5]
 *   node --cpu-prof scripts/rpc-work.mjs ...      the same under the profiler
 *
 * One router in this process, one caller and one callee session on memory transports that carry
 * real frames of the chosen serializer: each CALL frame is decoded, authorized, routed, encoded as
 * an INVOCATION; the callee's YIELD frame is decoded and encoded as a RESULT. Calls go in batches
 * (`--batch` in flight, like one socket read), and the time per call is the process CPU time over
 * the whole run, best of `--rounds`. No WebSocket framing and no system calls: the bench's rpc
 * scenario measures those; this isolates what routing costs, which one run of the bench cannot
 * tell apart from the machine's noise.
 */


const DIST = new URL('../dist/', import.meta.url);
const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const serializerName = flag('serializer', 'json');
const calls = Number(flag('calls', 1_000_000));
const batch = Number(flag('batch', 100));
const rounds = Number(flag('rounds', 5));

const { validateConfig } = await import(new URL('router/config.js', DIST));
const { createRouter } = await import(new URL('router/server.js', DIST));
const { createLogger } = await import(new URL('router/log.js', DIST));
const { SERIALIZERS } = await import(new URL('router/serializer/registry.js', DIST));
const serializer = SERIALIZERS[serializerName];

const config = validateConfig({
  listeners: [],
  limits: { rateMessagesPerSecond: 0, rateBytesPerSecond: 0 },
  realms: [{
    name: 'realm1',
    roles: [{ name: 'bench', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }],
    auth: { anonymous: { role: 'bench' } },
  }],
  log: { level: 'warn' },
});
const router = createRouter(config, { logger: createLogger({ level: 'warn' }) });

/** A memory transport carrying encoded frames; what the router sends goes to `onFrame`. */
class FrameTransport {
  info = { type: 'memory', peer: 'bench', remoteAddress: '127.0.0.1', protocol: serializer.subprotocol };
  serializer = serializer;
  constructor(onFrame) { this.onFrame = onFrame; }
  send(frame) { this.onFrame(frame); }
  close() {}
  bufferedBytes() { return 0; }
}

const PAYLOAD = ['0123456789abcdef0123456789abcdef'];
const encode = (message) => serializer.encode(message);
const decode = (frame) => serializer.decode(frame);

let answered = 0;
const yields = [];
const callee = router['accept'](new FrameTransport((frame) => {
  const message = decode(frame);
  if (message[0] === 68) yields.push(asFrame(encode([70, message[1], {}, PAYLOAD])));
}));
let lastResult;
const caller = router['accept'](new FrameTransport((frame) => {
  answered++;
  lastResult = frame;
}));
const feed = (session, frame) => session.receive(frame, serializer.binary);
const hello = encode([1, 'realm1', { roles: { caller: {}, callee: {} } }]);
feed(callee, hello);
feed(caller, hello);
await new Promise((r) => setTimeout(r, 10));
feed(callee, encode([64, 1, {}, 'com.bench.echo']));
await new Promise((r) => setTimeout(r, 10));

// Frames built once, as a client library would send them; request IDs cycle below 2^16.
// ws hands the router a Buffer for text frames too.
const asFrame = (frame) => (typeof frame === 'string' ? Buffer.from(frame) : frame);
const callFrames = Array.from({ length: 65536 }, (_, i) => asFrame(encode([48, i + 1, {}, 'com.bench.echo', PAYLOAD])));

async function run(count) {
  answered = 0;
  let request = 0;
  for (let sent = 0; sent < count; sent += batch) {
    for (let i = 0; i < batch; i++) feed(caller, callFrames[request++ & 0xffff]);
    await null; // let an async step (none expected once warm) settle
    const answers = yields.splice(0);
    for (const frame of answers) feed(callee, frame);
    await null;
  }
  if (answered !== count) throw new Error(`answered ${answered} of ${count}`);
  if (decode(lastResult)[0] !== 50) throw new Error(`not a RESULT: ${JSON.stringify(decode(lastResult))}`);
}

/** The client side of the same calls (decode INVOCATION, encode YIELD), to subtract. */
function clientWork(count, invocation) {
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const message = decode(invocation);
    sink += asFrame(encode([70, message[1] + i, {}, PAYLOAD])).length;
  }
  return sink;
}

await run(Math.min(calls, 200_000)); // warm-up
const invocation = encode([68, 123456, 987654321, {}, PAYLOAD]);
clientWork(200_000, invocation);
const cpuNs = (before) => {
  const used = process.cpuUsage(before);
  return (used.user + used.system) * 1000;
};
let best = Infinity;
let client = Infinity;
for (let round = 0; round < rounds; round++) {
  let before = process.cpuUsage();
  await run(calls);
  best = Math.min(best, cpuNs(before) / calls);
  before = process.cpuUsage();
  clientWork(calls, invocation);
  client = Math.min(client, cpuNs(before) / calls);
}
console.log(JSON.stringify({ serializer: serializerName, calls, batch, rounds, nsPerCall: Math.round(best), clientNs: Math.round(client), routerNsPerCall: Math.round(best - client) }));
await router.close?.();
process.exit(0);
