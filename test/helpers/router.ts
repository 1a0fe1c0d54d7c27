import { validateConfig, type RouterConfig } from '../../router/config.js';
import { createLogger, type Logger } from '../../router/log.js';
import { createRouter, type ListeningAddress, type Router } from '../../router/server.js';
import { waitFor } from './wait.js';
import { alternating, sharedNats, TEST_NODES } from './topology.js';

/** Everything allowed outside `wamp.`: the default role of test realms. */
export const ALLOW_ALL = [
  { uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } },
  { uri: 'wamp.', match: 'prefix', allow: {} },
];

export interface TestRouter {
  /** The first node. */
  router: Router;
  /** Every node: `[router]` on one node, both nodes in the two-node topology (helpers/topology.ts). */
  nodes: Router[];
  url: string;
  port: number;
  config: RouterConfig;
  /** Every listener's bound address, in config order (`url`/`port` are the first one's). */
  addresses: ListeningAddress[];
  /** Every log line the router wrote, parsed (in the two-node topology: both nodes', in one list). */
  logs: Record<string, unknown>[];
  /** Close the router and assert no session is left behind. */
  stop(): Promise<void>;
}

/**
 * A router on 127.0.0.1, ephemeral port, realm `realm1` with anonymous access unless the
 * overrides say otherwise. `overrides` is merged shallowly into the config before validation.
 */
export async function startRouter(overrides: Record<string, unknown> = {}, listener: Record<string, unknown> = {}): Promise<TestRouter> {
  // The two-node topology applies to plain WebSocket routers; listener-specific tests stay on one node.
  if (TEST_NODES > 1 && overrides.cluster === undefined && overrides.listeners === undefined && Object.keys(listener).length === 0) {
    return startClusteredRouter(overrides);
  }
  return startSingleRouter(overrides, listener);
}

async function startSingleRouter(overrides: Record<string, unknown>, listener: Record<string, unknown>, logs: Record<string, unknown>[] = []): Promise<TestRouter> {
  const config = validateConfig({
    listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0, ...listener }],
    realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: ALLOW_ALL }], auth: { anonymous: { role: 'anonymous' } } }],
    ...overrides,
  });
  const logger: Logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)), ratePerSecond: 1000 });
  const router = createRouter(config, { logger });
  const addresses = await router.listen();
  const address = addresses[0];
  return {
    router, nodes: [router], url: address!.url, port: address!.port, config, logs, addresses,
    async stop() {
      await router.close();
      await waitFor(() => router.connectionCount === 0, { what: 'all sessions closed' });
    },
  };
}

/** Two cluster nodes with the same config; clients alternate between them (helpers/topology.ts). */
async function startClusteredRouter(overrides: Record<string, unknown>): Promise<TestRouter> {
  const nats = await sharedNats();
  const id = `t${++clusteredRouters}`;
  // One log list for both nodes: a test that looks for a line finds it whichever node wrote it.
  const logs: Record<string, unknown>[] = [];
  const node = (n: string) => startSingleRouter({ ...overrides, cluster: { nats: nats.url, node: `${id}${n}`, prefix: id, heartbeatMs: 100, deadAfterMs: 600, connectTimeoutMs: 3000 } }, {}, logs);
  const a = await node('a');
  const b = await node('b');
  await waitFor(() => a.router.cluster!.status().peers.some((p) => p.alive) && b.router.cluster!.status().peers.some((p) => p.alive), { what: 'the two nodes see each other' });
  const urls = alternating([a.url, b.url]);
  return Object.defineProperty({
    ...a,
    nodes: [a.router, b.router],
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
    },
  }, 'url', { get: () => urls.url, enumerable: true }) as TestRouter;
}

let clusteredRouters = 0;

/** Total sessions joined to any realm of the router, or of every node of a test router. */
export function joinedSessions(target: Router | TestRouter): number {
  let n = 0;
  for (const router of 'nodes' in target ? target.nodes : [target]) {
    for (const realm of router.realms.values()) n += realm.sessions.size;
  }
  return n;
}
