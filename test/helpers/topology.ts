import type { RealmConfig } from '../../router/config.js';
import type { Session } from '../../router/session.js';
import type { Realm } from '../../realms/realm.js';
import type { AbClient } from './autobahn.js';
import { natsServerMissing, startNats, type NatsServer } from './nats.js';
import type { TestRouter } from './router.js';
import { waitFor } from './wait.js';

/**
 * The second topology of the integration suites (issue 15): with SWITCHYARD_TEST_NODES=2, every
 * router a test starts with startRouter() is two cluster nodes on one nats-server, and each client
 * that connects through `url` lands on the next node in turn, so callers and callees, publishers
 * and subscribers sit on different nodes. `router`, `port`, `addresses` and `config` stay those of
 * the first node; `nodes` holds both and `logs` gathers both nodes' lines. Run it with
 * `npm run test:two-nodes`. A test that cannot hold across nodes says why, with singleNodeOnly (what
 * is per node by design) or pendingAcrossNodes (a known cross-node gap, until it is fixed).
 */

export const TEST_NODES = Number(process.env.SWITCHYARD_TEST_NODES ?? '1');

let shared: Promise<NatsServer> | undefined;

/** One nats-server for the whole run, stopped by the mocha root hook below. */
export function sharedNats(): Promise<NatsServer> {
  shared ??= startNats();
  return shared;
}

/**
 * mocha root hooks (loaded with --require in the two-node run): every test pending, saying why, when
 * nats-server is not installed (as the cluster tests); the shared server stopped at the end.
 */
export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    const missing = TEST_NODES > 1 ? natsServerMissing() : undefined;
    if (missing === undefined) return;
    console.log(`  (the ${TEST_NODES}-node run is pending: ${missing})`);
    this.skip();
  },
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

/**
 * Marks a test pending in the two-node run only, saying why: for tests of what is per process by
 * design (failed-login throttles, …) that cannot be stated for the cluster. Call it first thing in
 * the test (`singleNodeOnly(this, '…')`).
 */
export function singleNodeOnly(context: Mocha.Context, reason: string): void {
  if (TEST_NODES === 1) return;
  console.log(`    (pending on ${TEST_NODES} nodes: ${reason})`);
  context.skip();
}

/**
 * Marks a test pending in the two-node run only, until a known cross-node gap is closed (the
 * reason names it); remove the call when the gap is fixed.
 */
export function pendingAcrossNodes(context: Mocha.Context, ...until: string[]): void {
  if (TEST_NODES === 1) return;
  console.log(`    (pending on ${TEST_NODES} nodes until ${until.join('; and until ')})`);
  context.skip();
}

/**
 * Known gap (router/cluster/meta-link.ts, subscription-meta-link.ts): meta events reach every node,
 * but a subscription's on_create/on_delete is decided by asking the other nodes and is sometimes
 * raised twice when subscribers on two nodes come or go close together (about 1 run in 6 of this
 * test), and a registration's on_delete sometimes misses the end of this test's sequence (1 in 10).
 * test/cluster/subscription-meta.test.ts checks the cross-node events step by step instead.
 */
export const META_EVENTS_RACE = 'subscription on_create/on_delete exactly once, and registration on_delete in sequence, when the changes happen on two nodes close together';

// ----- what the tests read, over every node (one node: the same as reading that node) -----

/** The realm `name` of every node, for checks that must hold whichever node a client is on. */
export function realmOnNodes(tr: TestRouter, name = 'realm1'): Realm[] {
  return tr.nodes.map((router) => router.realms.get(name)!);
}

/** The sum of `count` over the realm `name` of every node (e.g. pending calls). */
export function sumOverNodes(tr: TestRouter, count: (realm: Realm) => number, name = 'realm1'): number {
  return realmOnNodes(tr, name).reduce((sum, realm) => sum + count(realm), 0);
}

/**
 * Subscriptions of realm `name` over every node, counted once each: a subscription has the same ID
 * on every node, so a topic subscribed on both nodes counts once, as on one node.
 */
export function subscriptionCount(tr: TestRouter, name = 'realm1'): number {
  return new Set(realmOnNodes(tr, name).flatMap((realm) => [...realm.broker.subscriptions()].map((s) => s.id))).size;
}

/** Registrations of realm `name` over every node, counted once each (every node mirrors them under one ID). */
export function registrationCount(tr: TestRouter, name = 'realm1'): number {
  return new Set(realmOnNodes(tr, name).flatMap((realm) => [...realm.dealer.registrations()].map((r) => r.id))).size;
}

/**
 * Whether every node keeps the same retained publication for each of `topics` (always true on one
 * node once the publication is acknowledged). Across nodes a retained event reaches the other nodes
 * through the retain bucket's watch, after PUBLISHED: tests that fetch it on another node wait for
 * this first. Reads the broker's private store: a test-only view.
 */
export function retainedOnEveryNode(tr: TestRouter, topics: string[], name = 'realm1'): boolean {
  const held = (realm: Realm, topic: string) => (realm.broker as unknown as { retained: Map<string, { publication: number }> }).retained.get(topic)?.publication;
  const realms = realmOnNodes(tr, name);
  return topics.every((topic) => held(realms[0]!, topic) !== undefined && realms.every((realm) => held(realm, topic) === held(realms[0]!, topic)));
}

/** Reconfigures realm `config.name` on every node: a reload is per process, so each node applies the same one. */
export function reconfigureRealm(tr: TestRouter, config: RealmConfig): void {
  for (const router of tr.nodes) router.realms.get(config.name)!.reconfigure(config);
}

/** The joined session `id` of realm `name`, whichever node it is on. */
export function sessionOnAnyNode(tr: TestRouter, id: number, name = 'realm1'): Session | undefined {
  return realmOnNodes(tr, name).map((realm) => realm.sessions.get(id)).find((session) => session !== undefined);
}

/** Whether no node holds a connection any more. */
export function noConnections(tr: TestRouter): boolean {
  return tr.nodes.every((router) => router.connectionCount === 0);
}

/** Whether every node's copy of registration `id` lists the same callees (always true on one node). */
export function registrationAlikeOnEveryNode(tr: TestRouter, id: number, name = 'realm1'): boolean {
  const callees = realmOnNodes(tr, name).map((realm) => realm.dealer.getRegistration(id)?.callees.map((c) => c.session.id).sort().join());
  return callees[0] !== undefined && callees.every((list) => list === callees[0]);
}

/**
 * Waits until every node's copy of registration `id` lists the same callees (at once on one node).
 * A registration reaches the other node through the registry's KV watch a moment after REGISTERED
 * (design §3.4), and the suites call from the other node right after: the two-node run waits here
 * after each REGISTERED, so that it tests routing across nodes rather than that moment.
 */
export function registeredOnEveryNode(tr: TestRouter, id: number, name = 'realm1'): Promise<void> {
  return waitFor(() => registrationAlikeOnEveryNode(tr, id, name), { what: `registration ${id} alike on every node` });
}

/** `client`, whose `session.register` resolves once every node lists the new callee (unchanged on one node). */
export function registeringOnEveryNode(tr: TestRouter, client: AbClient): AbClient {
  if (tr.nodes.length === 1) return client;
  const register = client.session.register.bind(client.session);
  client.session.register = async (...args) => {
    const registration = await register(...args);
    await registeredOnEveryNode(tr, registration.id as number, client.details.realm as string);
    return registration;
  };
  return client;
}
