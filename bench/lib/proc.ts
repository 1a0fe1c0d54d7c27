import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Reading a process's CPU time and memory from Linux /proc, so the bench measures the router
 * child from the outside: `/proc/<pid>/stat` (utime + stime, in clock ticks), `/proc/<pid>/status`
 * (VmRSS, VmHWM in KiB) and `/proc/<pid>/limits` (the open-file limit the child really has).
 */

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  utimeTicks: number;
  stimeTicks: number;
  numThreads: number;
  rssPages: number;
}

/**
 * One line of /proc/<pid>/stat. `comm` is in parentheses and may itself contain spaces and
 * parentheses, so the fields are counted from the LAST `)`: after it come field 3 (state) on.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('not a /proc/<pid>/stat line');
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3; field N is rest[N - 3].
  const field = (n: number) => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`/proc/<pid>/stat field ${n} missing`);
    return value;
  };
  return {
    pid, comm, state: rest[0] ?? '?',
    utimeTicks: field(14), stimeTicks: field(15), numThreads: field(20), rssPages: field(24),
  };
}

export interface ProcStatus {
  vmRssKiB?: number;
  vmHwmKiB?: number;
  threads?: number;
}

/** The memory lines of /proc/<pid>/status ("VmRSS:\t  123456 kB"). */
export function parseProcStatus(text: string): ProcStatus {
  const out: ProcStatus = {};
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    if (match[1] === 'VmRSS') out.vmRssKiB = value;
    else if (match[1] === 'VmHWM') out.vmHwmKiB = value;
    else if (match[1] === 'Threads') out.threads = value;
  }
  return out;
}

export interface OpenFileLimits {
  soft: number;
  hard: number;
}

/** "Max open files            20000                20000                files" from /proc/<pid>/limits. */
export function parseOpenFileLimit(text: string): OpenFileLimits | undefined {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  const num = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(match[1]!), hard: num(match[2]!) };
}

let ticks: number | undefined;

/** USER_HZ (almost always 100); `getconf CLK_TCK` once, 100 if that is unavailable. */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export function cpuSecondsOf(stat: ProcStat, ticksPerSecond = clockTicksPerSecond()): number {
  return (stat.utimeTicks + stat.stimeTicks) / ticksPerSecond;
}

export interface ProcessSample {
  /** user + system CPU seconds since the process started */
  cpuSeconds: number;
  rssBytes: number;
  hwmBytes: number;
}

/** CPU seconds and memory of a live process; undefined once it is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const status = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return {
      cpuSeconds: cpuSecondsOf(stat),
      rssBytes: (status.vmRssKiB ?? 0) * 1024,
      hwmBytes: (status.vmHwmKiB ?? 0) * 1024,
    };
  } catch {
    return undefined;
  }
}

export function openFileLimitOf(pid: number | 'self'): OpenFileLimits | undefined {
  try {
    return parseOpenFileLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Size of the ephemeral port range from /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"). */
export function parsePortRange(text: string): number | undefined {
  const match = /^\s*(\d+)\s+(\d+)/.exec(text);
  if (!match) return undefined;
  const low = Number(match[1]);
  const high = Number(match[2]);
  return high >= low ? high - low + 1 : undefined;
}

export function ephemeralPortCount(): number | undefined {
  try {
    return parsePortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
  } catch {
    return undefined;
  }
}

export interface CpuTimes {
  /** all ticks on all cores */
  total: number;
  /** ticks not idle and not waiting for I/O */
  busy: number;
}

/** The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal … */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const line = procStat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((f) => !Number.isFinite(f))) return undefined;
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  return { total, busy: total - idle };
}

/** Machine-wide CPU seconds used so far (all cores, all processes), from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const times = parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
    return times ? times.busy / clockTicksPerSecond() : undefined;
  } catch {
    return undefined;
  }
}
