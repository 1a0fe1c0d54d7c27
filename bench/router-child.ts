import { validateConfig } from '../router/config.js';
import { LIMIT_SPECS } from '../router/limits.js';
import { createLogger } from '../router/log.js';
import { createRouter, type Router } from '../router/server.js';
import { deriveKey } from '../auth/crypto.js';
import { CRA_USER, REALM } from './lib/constants.js';
import { serve } from './lib/ipc.js';
import { openFileLimitOf } from './lib/proc.js';

/**
 * The Switchyard router in its own process, so the bench reads its CPU and RSS from /proc.
 * One realm with anonymous and salted WAMP-CRA (the stored key is the PBKDF2 output, derived
 * here once, as `switchyard derive-key` would); connection limits raised for 20,000 sessions;
 * log level `warn` (no line per join). `start` may carry a `cluster` section (bench/cluster.ts):
 * the process is then one node of a cluster sharing the bench's nats-server.
 */

const ALLOW_ALL = [
  { uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } },
  { uri: 'wamp.', match: 'prefix', allow: {} },
];

let router: Router | undefined;

/**
 * Connection caps raised for 20,000 sessions from one address, and the per-session inbound
 * rate limit off (0 = unlimited): the bench measures routing, and the default 1,000 messages/s
 * per session would cap every pipelined caller at 1,000 calls/s. Only limits this router
 * version knows are set.
 */
const BENCH_LIMITS: Record<string, number> = {
  maxConnections: 1_000_000,
  maxConnectionsPerIp: 1_000_000,
  maxUnauthenticatedConnections: 1_000_000,
  rateMessagesPerSecond: 0,
  rateBytesPerSecond: 0,
};

function benchLimits(): Record<string, number> {
  return Object.fromEntries(Object.entries(BENCH_LIMITS).filter(([name]) => name in LIMIT_SPECS));
}

interface StartArgs {
  /** The router config's `cluster` section (nats URL, node id, heartbeat and dead-after times). */
  cluster?: Record<string, unknown>;
}

serve({
  async start(args: StartArgs = {}) {
    const config = validateConfig({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0, path: '/ws', serializers: ['json', 'msgpack', 'cbor'] }],
      limits: benchLimits(),
      realms: [{
        name: REALM,
        roles: [{ name: CRA_USER.role, permissions: ALLOW_ALL }],
        auth: {
          anonymous: { role: CRA_USER.role },
          wampcra: {
            users: {
              [CRA_USER.authid]: {
                role: CRA_USER.role,
                key: deriveKey(CRA_USER.secret, CRA_USER.salt, CRA_USER.iterations, CRA_USER.keylen),
                salt: CRA_USER.salt, iterations: CRA_USER.iterations, keylen: CRA_USER.keylen,
              },
            },
          },
        },
      }],
      log: { level: 'warn' },
      ...(args.cluster ? { cluster: args.cluster } : {}),
    });
    router = createRouter(config, { logger: createLogger({ level: 'warn' }) });
    const [address] = await router.listen();
    return { url: address!.url, craUrl: address!.url, pid: process.pid, fdLimit: openFileLimitOf('self') };
  },
  mem(args: { gc?: boolean } = {}) {
    if (args.gc && typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    return { ...process.memoryUsage(), connections: router?.connectionCount ?? 0 };
  },
  stop() {
    // Exit at once (the profile, if any, is written at exit); the kernel closes the sockets. A
    // cluster node's peers see it die; every cluster run has its own nats-server, so no later
    // node with the same id meets its stale heartbeat.
    setImmediate(() => process.exit(0));
    return true;
  },
});
