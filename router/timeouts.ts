/**
 * Timeouts that are almost always cancelled before they run out: a session's hello,
 * authentication and close-handshake timeouts, a connection's upgrade timeout. Each kind and
 * length is one list with one Node timer, instead of a setTimeout/clearTimeout pair (and a
 * Timeout object) per connection and step: those were ~3 % of a salted WAMP-CRA join (issue 16).
 *
 * Every entry of a list waits the same time, so the order entries were (re)started in is the
 * order they run out in: starting is a Map insert at the end, cancelling a delete, and the
 * list's timer is set for its oldest entry only. An entry runs out no earlier than its time
 * (measured on the monotonic clock), like setTimeout.
 */

export interface Expiring {
  /** This entry's time on `list` ran out (it is no longer on the list). */
  timedOut(list: TimeoutList): void;
}

export class TimeoutList {
  /** Entry → when it runs out (performance.now()), oldest first. */
  private readonly due = new Map<Expiring, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly reason: string, readonly ms: number) {}

  /** (Re)start `entry`'s time. */
  start(entry: Expiring): void {
    this.due.delete(entry);
    this.due.set(entry, performance.now() + this.ms);
    if (!this.timer) this.arm(this.ms);
  }

  cancel(entry: Expiring): void {
    this.due.delete(entry);
  }

  has(entry: Expiring): boolean {
    return this.due.has(entry);
  }

  get size(): number {
    return this.due.size;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(runOut, Math.max(1, Math.ceil(ms)), this);
    this.timer.unref();
  }

  /** @internal The list's timer fired: every entry whose time is up runs out, then the timer is set for the next. */
  runOut(): void {
    this.timer = undefined;
    const now = performance.now();
    const expired: Expiring[] = [];
    for (const [entry, deadline] of this.due) {
      if (deadline > now) {
        this.arm(deadline - now);
        break;
      }
      this.due.delete(entry);
      expired.push(entry);
    }
    // Told after the list is consistent again, so an entry may start or cancel timeouts (here too).
    for (const entry of expired) entry.timedOut(this);
  }
}

function runOut(list: TimeoutList): void {
  list.runOut();
}

const lists = new Map<string, Map<number, TimeoutList>>();

/** The process-wide list for timeouts of this kind and length (a handful: one per configured timeout). */
export function timeoutList(reason: string, ms: number): TimeoutList {
  let byLength = lists.get(reason);
  if (!byLength) lists.set(reason, (byLength = new Map()));
  let list = byLength.get(ms);
  if (!list) byLength.set(ms, (list = new TimeoutList(reason, ms)));
  return list;
}
