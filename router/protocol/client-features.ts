import { isDict } from './decode.js';
import type { Dict } from './messages.js';

/**
 * The features a client announced in HELLO.Details.roles (`callee: {features: {call_canceling:
 * true}}`), kept as one shared, read-only value per distinct announcement. A session only ever
 * asks "did it announce feature F for role R?", and the clients of one application announce the
 * very same roles, so their sessions all point at one value instead of each holding its own copy
 * of the HELLO dicts (issue 16: four to five objects per idle session).
 */
export type ClientFeatures = ReadonlyMap<string, ReadonlySet<string>>;

export const NO_FEATURES: ClientFeatures = new Map();

/** Distinct announcements shared; past this a new one gets its own value (bounded memory, same answers). */
const MAX_SHARED = 256;
const shared = new Map<string, ClientFeatures>();

/** The features announced as `true`, per role. */
export function clientFeatures(roles: Dict): ClientFeatures {
  const announced: [string, string[]][] = [];
  for (const role of Object.keys(roles)) {
    const entry = roles[role];
    const features = isDict(entry) ? entry.features : undefined;
    if (!isDict(features)) continue;
    const on = Object.keys(features).filter((feature) => features[feature] === true);
    if (on.length > 0) announced.push([role, on.sort()]);
  }
  if (announced.length === 0) return NO_FEATURES;
  announced.sort(([a], [b]) => (a < b ? -1 : 1));
  const key = JSON.stringify(announced);
  const known = shared.get(key);
  if (known) return known;
  const features: ClientFeatures = new Map(announced.map(([role, on]) => [role, new Set(on)]));
  if (shared.size < MAX_SHARED) shared.set(key, features);
  return features;
}

export function hasClientFeature(features: ClientFeatures, role: string, feature: string): boolean {
  return features.get(role)?.has(feature) === true;
}
