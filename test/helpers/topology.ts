import { startNats, type NatsServer } from './nats.js';

/**
 * The second topology of the integration suites (issue 15): with SWITCHYARD_TEST_NODES=2, every
 * router a test starts with startRouter() is two cluster nodes on one nats-server, and each client
 * that connects through `url` lands on the next node in turn, so callers and callees, publishers
 * and subscribers sit on different nodes. `router`, `logs` and `port` stay those of the first node.
 */

export const TEST_NODES = Number(process.env.SWITCHYARD_TEST_NODES ?? '1');

let shared: Promise<NatsServer> | undefined;

/** One nats-server for the whole run, stopped by the mocha root hook below. */
export function sharedNats(): Promise<NatsServer> {
  shared ??= startNats();
  return shared;
}

/** mocha root hooks (loaded with --require in the two-node run): stop the shared server at the end. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (shared) await (await shared).stop();
    shared = undefined;
  },
};

/** A `url` that hands out the nodes' URLs in turn. */
export function alternating(urls: string[]): { readonly url: string } {
  let next = 0;
  return {
    get url() {
      return urls[next++ % urls.length]!;
    },
  };
}
