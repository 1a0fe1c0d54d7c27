import { rmSync } from 'node:fs';

/**
 * Every process the bench spawns (router, relay, peer and worker children, nats-server) is
 * registered here by PID and SIGKILLed by PID when the bench exits, fails or is interrupted, so
 * no router or nats-server outlives a run. Forked children also exit when their IPC channel
 * closes; nats-server has no such channel, hence this list. Temporary directories (nats-server
 * stores) registered here are removed then too.
 */

const live = new Map<number, string>();
const dirs = new Set<string>();
let installed = false;

function killAll(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[bench] ${signal}: killing ${live.size} child process(es) by PID\n`);
      killAll();
      process.exit(130);
    });
  }
}

/** Remember `pid` until `untrack`; killed with the bench. */
export function track(pid: number | undefined, name: string): void {
  if (pid === undefined) return;
  install();
  live.set(pid, name);
}

export function untrack(pid: number | undefined): void {
  if (pid !== undefined) live.delete(pid);
}

/** Remove `dir` when the bench ends (unless `untrackDir` first). */
export function trackDir(dir: string): void {
  install();
  dirs.add(dir);
}

export function untrackDir(dir: string): void {
  dirs.delete(dir);
}
