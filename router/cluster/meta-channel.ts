/**
 * The realm's meta subject as the meta API's cluster parts use it: meta-link.ts provides it,
 * subscription-meta-link.ts asks and tells through it (declared apart so neither imports the other).
 */

import type { MetaKind } from '../../realms/meta/visibility.js';

/** The realm's meta subject as the meta API's parts use it. */
export interface MetaChannel {
  /** This node's id. */
  readonly node: string;
  /** Every other live node's answer that arrived in time (a missing one is logged and counted). */
  ask<R extends { op: string }>(request: R): Promise<unknown[]>;
  /** Tells every other node; dropped while NATS is unreachable. */
  tell<N extends { op: string }>(notice: N): void;
  /** Tells every other node's subscribers of a meta event raised here. */
  raised(kind: MetaKind, topic: string, uri: string, args: unknown[]): void;
}
