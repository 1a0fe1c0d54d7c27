import type { Writable } from 'node:stream';

/**
 * Batch every write made during one turn of the event loop into as few syscalls as possible:
 * the first write to a socket in a turn corks it, and one `process.nextTick` uncorks them all.
 * One read often carries many CALLs or PUBLISHes; without this each answer is its own `writev`
 * (the benchmark profile showed 74–80% of router CPU there). Nested corks (ws corks per frame)
 * stay inside ours.
 */

const corked = new Map<Writable, () => void>();
let flushScheduled = false;

function uncorkAll(): void {
  flushScheduled = false;
  const batch = [...corked];
  corked.clear();
  for (const [socket, flushed] of batch) {
    if (socket.destroyed) continue;
    socket.uncork();
    flushed();
  }
}

/**
 * Cork `socket` until the end of the current turn (idempotent within a turn); `flushed` runs
 * right after the uncork, when the socket's queue shows what the kernel did not take.
 */
export function batchWrites(socket: Writable | undefined, flushed: () => void): void {
  if (!socket || corked.has(socket) || socket.destroyed) return;
  socket.cork();
  corked.set(socket, flushed);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(uncorkAll);
  }
}
