/**
 * Which other nodes are alive, from their heartbeats (design: shared/cluster-nats.md §3.6).
 *
 * Liveness comes from heartbeats, not from KV TTLs: nats-server 2.9.10 expires bucket keys without
 * telling watchers and ignores per-key TTLs. A node is dead after `deadAfterMs` without a heartbeat,
 * or at once when it says goodbye. Each process start has a new incarnation: a node that comes back
 * with the same incarnation (a NATS blip, a slow-consumer cut) still has its sessions and re-asserts
 * them; a new incarnation means the old sessions are gone. Pure state: the caller feeds heartbeats and
 * clock ticks and acts on the returned changes, so it is tested with a fake clock.
 */

export interface Heartbeat {
  node: string;
  /** Random per process start. */
  incarnation: string;
  /** Epoch ms of that start: orders incarnations when an old process's last beat arrives late. */
  startedAt: number;
  /** True on the last beat of a graceful shutdown. */
  bye?: boolean;
  sessions?: number;
  eventLoopLagMs?: number;
  configDigest?: string;
}

export type MembershipChange =
  /** First heartbeat of a node (or of a node that had left). */
  | { kind: 'up'; node: string; incarnation: string }
  /** A dead node is beating again with the same incarnation: its sessions and entries are still valid. */
  | { kind: 'back'; node: string; incarnation: string }
  /** The node restarted: everything of `previous` is gone, `incarnation` is new. */
  | { kind: 'restarted'; node: string; previous: string; incarnation: string }
  | { kind: 'down'; node: string; incarnation: string; reason: 'silent' | 'bye' };

export interface PeerState {
  node: string;
  incarnation: string;
  startedAt: number;
  lastSeen: number;
  alive: boolean;
  last: Heartbeat;
}

export class Membership {
  private readonly byNode = new Map<string, PeerState>();

  constructor(
    private readonly self: string,
    private readonly deadAfterMs: number,
  ) {}

  /** Applies one heartbeat received at `now`; returns what changed (often nothing). */
  heartbeat(beat: Heartbeat, now: number): MembershipChange[] {
    if (beat.node === this.self) return [];
    const known = this.byNode.get(beat.node);
    if (known !== undefined && beat.incarnation !== known.incarnation && beat.startedAt < known.startedAt) {
      return []; // a late beat of a process that has since been replaced
    }
    if (beat.bye) return this.leave(beat, now, known);

    if (known === undefined || (!known.alive && known.incarnation !== beat.incarnation && known.last.bye)) {
      this.byNode.set(beat.node, peerOf(beat, now));
      return [{ kind: 'up', node: beat.node, incarnation: beat.incarnation }];
    }
    if (known.incarnation !== beat.incarnation) {
      this.byNode.set(beat.node, peerOf(beat, now));
      return [{ kind: 'restarted', node: beat.node, previous: known.incarnation, incarnation: beat.incarnation }];
    }
    const wasAlive = known.alive;
    Object.assign(known, { lastSeen: now, alive: true, last: beat });
    return wasAlive ? [] : [{ kind: 'back', node: beat.node, incarnation: beat.incarnation }];
  }

  /** Declares dead every live peer silent for longer than `deadAfterMs`. */
  tick(now: number): MembershipChange[] {
    const changes: MembershipChange[] = [];
    for (const peer of this.byNode.values()) {
      if (peer.alive && now - peer.lastSeen > this.deadAfterMs) {
        peer.alive = false;
        changes.push({ kind: 'down', node: peer.node, incarnation: peer.incarnation, reason: 'silent' });
      }
    }
    return changes;
  }

  isAlive(node: string): boolean {
    return node === this.self || this.byNode.get(node)?.alive === true;
  }

  /** The incarnation a node's entries must carry to be used, if the node is alive. */
  liveIncarnation(node: string): string | undefined {
    const peer = this.byNode.get(node);
    return peer?.alive ? peer.incarnation : undefined;
  }

  /**
   * Whether `node`'s entries made by `incarnation` are known to be dead: the node was declared dead
   * or has restarted since. A node never heard from is not (it may just not have beaten yet, right
   * after this process started); the janitor's sweep removes its entries if it never does.
   */
  knownGone(node: string, incarnation: string): boolean {
    const peer = this.byNode.get(node);
    return peer !== undefined && (!peer.alive || peer.incarnation !== incarnation);
  }

  /** Every peer heard from, alive or not. */
  peers(): PeerState[] {
    return [...this.byNode.values()];
  }

  /** Live peers, lowest node id first (the lowest live node cleans up after dead ones). */
  alivePeers(): PeerState[] {
    return [...this.byNode.values()].filter((peer) => peer.alive).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** Whether this node is the one that should clean up a dead node's entries. */
  isJanitor(): boolean {
    const first = this.alivePeers()[0];
    return first === undefined || this.self < first.node;
  }

  private leave(beat: Heartbeat, now: number, known: PeerState | undefined): MembershipChange[] {
    const peer = peerOf(beat, now);
    peer.alive = false;
    this.byNode.set(beat.node, peer);
    // A goodbye from a node never seen alive, or already declared dead, changes nothing for routing.
    // Otherwise whatever incarnation was alive is gone (a replaced process cannot be running still).
    if (known === undefined || !known.alive) return [];
    return [{ kind: 'down', node: beat.node, incarnation: known.incarnation, reason: 'bye' }];
  }
}

function peerOf(beat: Heartbeat, now: number): PeerState {
  return { node: beat.node, incarnation: beat.incarnation, startedAt: beat.startedAt, lastSeen: now, alive: true, last: beat };
}
