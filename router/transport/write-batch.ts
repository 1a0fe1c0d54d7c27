/**
 * The end of an event-loop turn, for transports that hold their frames until then. One read often
 * carries many CALLs or PUBLISHes; without batching each answer is its own `writev` (the benchmark
 * profile showed 74–80 % of router CPU there). A transport queues a turn's frames in its Outbox
 * (outbox.ts); one `process.nextTick` then tells every transport that wrote in this turn to write
 * them, one buffer per socket. The delay is the rest of the current I/O callback, not a timer:
 * writing the first frame at once instead doubled the write system calls of the rpc bench (one
 * for the first frame, one for the rest), a quarter of the router's CPU.
 */

/** What wrote to a socket this turn; told once, when the turn ends. */
export interface TurnWriter {
  endOfTurn(): void;
}

let writers: TurnWriter[] = [];

function endTurn(): void {
  const batch = writers;
  writers = [];
  for (const writer of batch) writer.endOfTurn();
}

/**
 * Call `writer.endOfTurn()` when this turn ends. The caller registers at most once per turn (it
 * knows whether it has written in this turn): no set lookup per frame.
 */
export function atEndOfTurn(writer: TurnWriter): void {
  if (writers.length === 0) process.nextTick(endTurn);
  writers.push(writer);
}
