import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/** Debian's nats-server (2.9.10), installed by .ci/run. */
export const NATS_SERVER = '/usr/sbin/nats-server';

export function natsServerMissing(): string | undefined {
  return existsSync(NATS_SERVER) ? undefined : `${NATS_SERVER} is not installed (apt-get install -y nats-server)`;
}

/** Marks the suite pending, saying why, when nats-server is not installed (.ci/run installs it). */
export function skipWithoutNats(context: Mocha.Context): void {
  const missing = natsServerMissing();
  if (missing === undefined) return;
  console.log(`    (pending: ${missing})`);
  context.skip();
}

export interface NatsServer {
  url: string;
  pid: number;
  /** SIGTERM and wait for the exit; the store stays unless `removeStore`. */
  stop(removeStore?: boolean): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** The JetStream store directory, to restart a server on the same data. */
  storeDir: string;
  /**
   * Stops this server if it still runs and starts another on the same port and options: with a
   * fresh store (what a restart of memory buckets looks like), or on this one with `keepStore`.
   */
  restart(options?: { keepStore?: boolean }): Promise<NatsServer>;
}

export interface NatsServerOptions {
  /** Default: a fresh temporary store. */
  storeDir?: string;
  /** Default: any free port (-p -1). */
  port?: number;
  jetstream?: boolean;
  /** Extra command-line arguments, e.g. ['-c', configFile] for settings without a flag. */
  args?: string[];
  /**
   * The server's max_payload (default '2MB'): a node refuses a server whose max_payload cannot carry
   * maxMessageBytes (1 MiB by default) plus the envelope. false keeps the server's own 1 MB default.
   */
  maxPayload?: string | false;
}

/**
 * Spawns nats-server on 127.0.0.1 with its own store and waits for the ports file it writes, which
 * names the URL it listens on. Stopped by PID; every wait is bounded.
 */
export async function startNats(options: NatsServerOptions = {}): Promise<NatsServer> {
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'switchyard-nats-'));
  const portsDir = mkdtempSync(join(tmpdir(), 'switchyard-nats-ports-'));
  const args = ['-a', '127.0.0.1', '-p', String(options.port ?? -1), '--ports_file_dir', portsDir];
  const maxPayload = options.maxPayload ?? '2MB';
  if (maxPayload !== false) {
    writeFileSync(join(portsDir, 'nats.conf'), `max_payload: ${maxPayload}\n`);
    args.push('-c', join(portsDir, 'nats.conf'));
  }
  if (options.jetstream !== false) args.push('-js', '-sd', storeDir);
  const child: ChildProcess = spawn(NATS_SERVER, [...args, ...(options.args ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The file appears before its content is written: wait until it parses.
  let ports: { nats: string[] } | undefined;
  const readPorts = () => {
    const name = readdirSync(portsDir).find((file) => file.endsWith('.ports'));
    try {
      ports = name === undefined ? undefined : (JSON.parse(readFileSync(join(portsDir, name), 'utf8')) as { nats: string[] });
    } catch {
      ports = undefined;
    }
    return ports !== undefined;
  };
  try {
    await waitFor(() => readPorts() || child.exitCode !== null, { timeoutMs: 10_000, what: 'nats-server ports file' });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  if (child.exitCode !== null || ports === undefined) throw new Error(`nats-server exited with ${child.exitCode}:\n${stderr}`);
  const { nats: urls } = ports;
  rmSync(portsDir, { recursive: true, force: true });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  };
  return {
    url: urls[0]!,
    pid: child.pid!,
    storeDir,
    stop: async (removeStore = true) => {
      await end('SIGTERM');
      if (removeStore && options.storeDir === undefined) rmSync(storeDir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
    restart: async ({ keepStore = false } = {}) => {
      await end('SIGTERM');
      const port = Number(new URL(urls[0]!).port);
      return startNats({ ...options, port, storeDir: keepStore ? storeDir : undefined });
    },
  };
}
