import { natsServerMissing, startNats, type NatsServer } from '../../test/helpers/nats.js';
import { track, trackDir, untrack, untrackDir } from './cleanup.js';

/**
 * nats-server for the cluster scenarios: the tests' launcher (Debian's /usr/sbin/nats-server on
 * 127.0.0.1, a free port, JetStream in a fresh temporary store, `max_payload: 2MB` in a config
 * file), with its PID registered so the bench kills it on error and on SIGINT as well.
 */

export { natsServerMissing, type NatsServer };

export async function startBenchNats(): Promise<NatsServer> {
  const server = await startNats();
  track(server.pid, 'nats-server');
  trackDir(server.storeDir);
  return {
    ...server,
    async stop(removeStore = true) {
      await server.stop(removeStore);
      untrack(server.pid);
      if (removeStore) untrackDir(server.storeDir);
    },
    async kill() {
      await server.kill();
      untrack(server.pid);
    },
  };
}
