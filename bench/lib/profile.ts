/**
 * Self time per function from a V8 `.cpuprofile` (what `node --cpu-prof` writes): each sample
 * names the node that was on top of the stack, so a function's self time is its share of the
 * samples times the profile's duration. Nodes of the same function (different call paths) are
 * added together.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  functionName: string;
  /** file:line (1-based), shortened to the part after the project or node_modules root */
  location: string;
  selfMs: number;
  /** share of the samples that were not idle */
  percent: number;
  samples: number;
}

/** Pseudo-frames V8 uses for time outside JavaScript functions. */
export const IDLE = '(idle)';

export function shortLocation(frame: CallFrame): string {
  if (!frame.url) return '';
  let url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) url = url.slice(nm + '/node_modules/'.length);
  else {
    const dist = url.lastIndexOf('/dist/');
    if (dist >= 0) url = url.slice(dist + '/dist/'.length);
  }
  return `${url}:${frame.lineNumber + 1}`;
}

/** All functions by self time, descending; `(idle)` is left out and not counted in the percentages. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) if (node.hitCount) hits.set(node.id, node.hitCount);
  }
  let total = 0;
  for (const n of hits.values()) total += n;
  const msPerSample = total > 0 ? (profile.endTime - profile.startTime) / 1000 / total : 0;

  const merged = new Map<string, SelfTime>();
  let busy = 0;
  for (const [id, count] of hits) {
    const node = byId.get(id);
    if (!node) continue;
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    if (name === IDLE) continue;
    busy += count;
    const location = shortLocation(frame);
    const key = `${name}\u0000${location}\u0000${frame.columnNumber}`;
    const entry = merged.get(key) ?? { functionName: name, location, selfMs: 0, percent: 0, samples: 0 };
    entry.samples += count;
    merged.set(key, entry);
  }
  const out = [...merged.values()];
  for (const entry of out) {
    entry.selfMs = entry.samples * msPerSample;
    entry.percent = busy > 0 ? (100 * entry.samples) / busy : 0;
  }
  return out.sort((a, b) => b.samples - a.samples || a.functionName.localeCompare(b.functionName));
}

export function topSelfTime(profile: CpuProfile, n = 10): SelfTime[] {
  return selfTimes(profile).slice(0, n);
}
