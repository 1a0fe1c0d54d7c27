import { execFile, spawn, type ChildProcess } from 'node:child_process';

/** Debian's interpreter, where `python3-autobahn` installs (not the pyenv one on PATH). */
export const PYTHON = '/usr/bin/python3';

export interface PyRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last JSON line the script printed on stdout. */
  result: Record<string, any>;
}

/** Whether `python3 -c code` succeeds (e.g. `import autobahn`), and why not. */
export function probe(code: string): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', code], { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve({ ok: true, why: '' });
      resolve({ ok: false, why: `${PYTHON} -c '${code}' failed: ${(stderr || error.message).trim().split('\n').pop()}` });
    });
  });
}

/**
 * Run a Python client script; it is SIGKILLed after `killAfterMs` so a hang fails the test.
 * The child is pushed onto `children` so afterEach can kill leftovers.
 */
export function runPythonScript(args: string[], children: ChildProcess[], killAfterMs: number, env: NodeJS.ProcessEnv = process.env): Promise<PyRun> {
  const child = spawn(PYTHON, args, { timeout: killAfterMs, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      let result: Record<string, any> = {};
      try {
        result = line ? JSON.parse(line) : {};
      } catch {
        result = { ok: false, error: `unparseable output: ${line}` };
      }
      resolve({ code, signal, stdout, stderr, result });
    });
  });
}
