import { fork, type ChildProcess } from 'node:child_process';
import { track, untrack } from './cleanup.js';
import { openFileLimitOf } from './proc.js';

/**
 * Request/response over the Node IPC channel between the bench and its children (router,
 * relay, peer and client-group workers). Children die with the bench: they exit when the
 * channel closes.
 */

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}

interface Response {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export type Handlers = Record<string, (args: any) => unknown>;

/** In a child: answer the parent's requests with `handlers`; exit when the parent goes away. */
export function serve(handlers: Handlers): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw: unknown) => {
    const req = raw as Request;
    if (typeof req?.id !== 'number') return;
    const reply = (res: Response) => {
      if (process.connected) process.send!(res);
    };
    const handler = handlers[req.cmd];
    if (!handler) return reply({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
    Promise.resolve()
      .then(() => handler(req.args))
      .then(
        (result) => reply({ id: req.id, ok: true, result }),
        (error: unknown) => reply({ id: req.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
  });
}

export interface SpawnOptions {
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Raise the child's soft open-file limit to the hard limit (via /bin/sh ulimit). */
  raiseFdLimit?: boolean;
  /** Pin the child to these CPUs (`taskset -c LIST`, e.g. "2-3"), to measure scale-out. */
  cpus?: string;
}

/** A forked child with typed requests. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(readonly name: string, readonly process: ChildProcess) {
    track(process.pid, name);
    process.on('message', (raw: unknown) => {
      const res = raw as Response;
      const entry = this.pending.get(res?.id);
      if (!entry) return;
      this.pending.delete(res.id);
      clearTimeout(entry.timer);
      if (res.ok) entry.resolve(res.result);
      else entry.reject(new Error(`${name}: ${res.error}`));
    });
    this.exited = new Promise((resolve) => process.once('exit', (code) => {
      untrack(process.pid);
      this.exitCode = code;
      for (const entry of this.pending.values()) {
        clearTimeout(entry.timer);
        entry.reject(new Error(`${name} exited (${code})`));
      }
      this.pending.clear();
      resolve(code);
    }));
  }

  get pid(): number {
    return this.process.pid!;
  }

  request<T = unknown>(cmd: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
    if (this.exitCode !== undefined || !this.process.connected) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.process.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Ask politely (`stop`), then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.request('stop', undefined, graceMs).catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): Promise<number | null> {
    if (this.exitCode === undefined) this.process.kill('SIGKILL');
    return this.exited;
  }
}

/**
 * Fork a compiled bench module. With `raiseFdLimit` (and a soft fd limit below the hard one) or
 * `cpus`, node is started through `/bin/sh -c 'ulimit -n <hard>; exec taskset -c LIST node …'`:
 * `exec` keeps the pid, so IPC, /proc accounting and kill-by-PID all see the node process.
 */
export function spawnChild(name: string, modulePath: string, options: SpawnOptions = {}): Child {
  const nodeArgs = options.nodeArgs ?? [];
  const limits = openFileLimitOf('self');
  const raise = options.raiseFdLimit === true && limits !== undefined && limits.soft < limits.hard;
  const pin = options.cpus !== undefined ? `taskset -c ${options.cpus} ` : '';
  const child = raise || pin
    ? fork(modulePath, options.args ?? [], {
      execPath: '/bin/sh',
      execArgv: ['-c', `${raise ? 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; ' : ''}exec ${pin}"$0" "$@"`, process.execPath, ...nodeArgs],
      env: options.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    : fork(modulePath, options.args ?? [], {
      execArgv: nodeArgs,
      env: options.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  return new Child(name, child);
}
