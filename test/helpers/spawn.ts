import { spawn, type ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Settles when the process has exited and its output is closed. */
  exit: Promise<Exit>;
  /** Output so far. */
  output: () => Exit;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** The child is killed with SIGKILL after this long, so a hang fails a test instead of the suite. */
  timeoutMs: number;
}

/** Runs a program with captured output and a kill timer. */
export function spawnWithTimeout(command: string, args: string[], options: SpawnOptions): Running {
  const child = spawn(command, args, {
    cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs, killSignal: 'SIGKILL',
    // Own process group, so a shell's children (npm -> node) can be signalled together.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const output = (): Exit => ({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve(output()));
  });
  return { child, exit, output };
}

/** Sends `signal` to the child's whole process group (npm start, bash -c …), ignoring a gone group. */
export function signalGroup(running: Running, signal: NodeJS.Signals): void {
  try {
    process.kill(-running.child.pid!, signal);
  } catch {
    // already exited
  }
}

export async function waitForOutput(running: Running, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout, stderr } = running.output();
    if (pattern.test(stdout) || pattern.test(stderr)) return;
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(`exited before printing ${String(pattern)}:\n${stdout}\n${stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}:\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
