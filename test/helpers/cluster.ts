import { startNats, type NatsServer } from './nats.js';
import { startRouter, type TestRouter } from './router.js';

/** Short times so failure tests run in a second or two (the defaults are 1 s and 3 s). */
export const TEST_HEARTBEAT_MS = 100;
export const TEST_DEAD_AFTER_MS = 600;

export interface TestCluster {
  nats: NatsServer;
  nodes: TestRouter[];
  /** Stops every node, then NATS. */
  stop(): Promise<void>;
}

/**
 * `count` routers (nodes a, b, c, …) in this process, each with its own listener on a free port,
 * sharing one fresh nats-server. `overrides` is merged into every node's config like startRouter's.
 */
export async function startTestCluster(count: number, overrides: Record<string, unknown> = {}, nats?: NatsServer): Promise<TestCluster> {
  const server = nats ?? (await startNats());
  const nodes: TestRouter[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await startClusterNode(server.url, String.fromCharCode(97 + i), overrides));
  } catch (error) {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    if (!nats) await server.stop();
    throw error;
  }
  return {
    nats: server, nodes,
    async stop() {
      await Promise.allSettled(nodes.map((node) => node.stop()));
      if (!nats) await server.stop();
    },
  };
}

export function startClusterNode(url: string, node: string, overrides: Record<string, unknown> = {}): Promise<TestRouter> {
  return startRouter({
    ...overrides,
    cluster: { nats: url, node, heartbeatMs: TEST_HEARTBEAT_MS, deadAfterMs: TEST_DEAD_AFTER_MS, connectTimeoutMs: 3000, ...(overrides.cluster as object) },
  });
}
