import type { Writable } from 'node:stream';

/**
 * Batch the writes made to one socket during one turn of the event loop into as few syscalls as
 * possible. One read often carries many CALLs or PUBLISHes; without this each answer is its own
 * `writev` (the benchmark profile showed 74–80% of router CPU there). The first write of a turn
 * goes out at once, so a socket that gets a single frame (a fan-out receiver) pays no added
 * latency; from the second write on the socket is corked until the turn ends, and one
 * `process.nextTick` uncorks them all. Nested corks (ws corks per frame) stay inside ours.
 */

/** What wrote to a socket this turn; told once the turn's writes went to the kernel. */
export interface TurnWriter {
  endOfTurn(): void;
}

/** Sockets written in this turn: false = once (not corked), true = corked. */
const written = new Map<Writable, boolean>();
const writers = new Map<Writable, TurnWriter>();
let flushScheduled = false;

function endTurn(): void {
  flushScheduled = false;
  const batch = [...written];
  written.clear();
  for (const [socket, corked] of batch) {
    const writer = writers.get(socket)!;
    writers.delete(socket);
    if (socket.destroyed) continue;
    if (corked) socket.uncork();
    writer.endOfTurn();
  }
}

/**
 * Call before writing to `socket`; `writer.endOfTurn()` runs at the end of the turn, after the
 * uncork, when the socket's queue shows what the kernel did not take. (An object, not a callback:
 * a callback per transport would be one more closure per idle session.)
 */
export function batchWrites(socket: Writable | undefined, writer: TurnWriter): void {
  if (!socket || socket.destroyed) return;
  const state = written.get(socket);
  if (state === true) return;
  if (state === false) {
    socket.cork();
    written.set(socket, true);
    return;
  }
  written.set(socket, false);
  writers.set(socket, writer);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(endTurn);
  }
}
