/**
 * Every numeric limit of the router in one table (style.md §1.8 lesson 12, after NATS `const.go`):
 * the default, the range the config schema accepts, and why. The defaults are reliability.md §2.11.
 * There is deliberately no "0 = unlimited": every limit is a real bound.
 */

export interface LimitSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly why: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const LIMIT_SPECS = {
  maxMessageBytes: {
    default: 1 * MiB,
    min: 1 * KiB,
    max: 64 * MiB,
    why: 'one WAMP message after WELCOME; NATS, EMQX and crossbar all default to about 1 MB',
  },
  maxPayloadElements: {
    default: 100_000,
    min: 100,
    max: 100_000_000,
    why: 'values in one message (map keys count): decoding costs ~0.1 µs each, so 1 MB of zeros would hold every session ~50 ms; counted before decoding',
  },
  maxPayloadDepth: {
    default: 64,
    min: 8,
    max: 64,
    why: 'nesting of one message; the encoders recurse, and deeper nesting would overflow the stack or slip past the binary/BigInt scan',
  },
  preAuthMaxMessageBytes: {
    default: 64 * KiB,
    min: 1 * KiB,
    max: 1 * MiB,
    why: 'HELLO and AUTHENTICATE are small; an unauthenticated peer must not make us buffer megabytes (OWASP 64 KB)',
  },
  helloTimeoutMs: {
    default: 5_000,
    min: 100,
    max: 300_000,
    why: 'a socket that never sends HELLO is closed instead of holding a slot forever (nexus 5 s)',
  },
  upgradeTimeoutMs: {
    default: 5_000,
    min: 100,
    max: 60_000,
    why: 'a connection whose upgrade request, RawSocket handshake or HTTP request head is not complete by then is closed (slowloris; nginx client_header_timeout, at a few seconds)',
  },
  authTimeoutMs: {
    default: 10_000,
    min: 100,
    max: 600_000,
    why: 'HELLO to WELCOME, so a client that never answers CHALLENGE is closed (NATS 2 s, nexus 1 min)',
  },
  maxPendingCallsPerSession: {
    default: 1_000,
    min: 1,
    max: 1_000_000,
    why: 'calls one caller may have in flight; bounds the dealer state one session can create',
  },
  maxSubscriptionsPerSession: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    why: 'bounds the broker memory one session can claim (EMQX and NATS are unlimited)',
  },
  maxRegistrationsPerSession: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    why: 'bounds the dealer memory one session can claim',
  },
  maxUriLength: {
    default: 512,
    min: 64,
    max: 8_192,
    why: 'checked before any regex or matcher sees a URI, so a hostile URI costs O(limit)',
  },
  maxUriComponents: {
    default: 64,
    min: 8,
    max: 1_024,
    why: 'bounds the depth of the wildcard trie walk per URI (aedes 100 levels, EMQX 128)',
  },
  closeHandshakeTimeoutMs: {
    default: 5_000,
    min: 100,
    max: 60_000,
    why: 'after GOODBYE or a WebSocket close we wait this long for the peer, then terminate (crossbar 1 s, ws 30 s)',
  },
  pingIntervalMs: {
    default: 30_000,
    min: 100,
    max: 3_600_000,
    why: 'a peer that has not answered the previous ping when the next is due is dead and is terminated',
  },
  maxOutboundBytesPerSession: {
    default: 16 * MiB,
    min: 64 * KiB,
    max: 1_024 * MiB,
    why: 'a slow consumer is closed once this much is queued for it, instead of growing router memory (NATS 64 MB)',
  },
  writeStallTimeoutMs: {
    default: 10_000,
    min: 100,
    max: 300_000,
    why: 'a session whose send buffer has not drained for this long is closed as a slow consumer (NATS write_deadline 10 s)',
  },
  maxConnections: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    why: 'every accepted connection, counted before its first byte; beyond it new ones are refused at once rather than exhausting file descriptors',
  },
  maxConnectionsPerIp: {
    default: 256,
    min: 1,
    max: 1_000_000,
    why: 'one remote address cannot take every slot (OWASP per-IP connection limit)',
  },
  maxUnauthenticatedConnections: {
    default: 1_000,
    min: 1,
    max: 1_000_000,
    why: 'bounds the memory held by peers that have not completed authentication',
  },
  fanoutChunkSize: {
    default: 100,
    min: 1,
    max: 100_000,
    why: 'receivers served per event-loop turn, so a huge publish cannot starve other traffic (crossbar 100)',
  },
  authFailureBaseDelayMs: {
    default: 250,
    min: 0,
    max: 60_000,
    why: 'first lockout after the free failures; doubles with each further failure (0 turns throttling off, for tests only)',
  },
  authFailureMaxDelayMs: {
    default: 30_000,
    min: 100,
    max: 3_600_000,
    why: 'cap on the lockout, so a genuine user is never locked out for longer than this',
  },
  authFreeFailuresPerAuthid: {
    default: 3,
    min: 0,
    max: 1_000,
    why: 'typos are free; guessing one account is not',
  },
  authFreeFailuresPerIp: {
    default: 20,
    min: 0,
    max: 100_000,
    why: 'many users may share one address (NAT), so the per-address budget is larger',
  },
  rateMessagesPerSecond: {
    default: 1_000,
    min: 0,
    max: 10_000_000,
    why: 'inbound messages per second per session before reading pauses (EMQX example 1000/s); 0 = unlimited; roles may override',
  },
  rateBurst: {
    default: 2_000,
    min: 1,
    max: 10_000_000,
    why: 'messages a session may send at once above the steady rate',
  },
  rateBytesPerSecond: {
    default: 16 * MiB,
    min: 0,
    max: 1024 * MiB,
    why: 'inbound bytes per second per session before reading pauses; 0 = unlimited; roles may override',
  },
  rateLimitCloseAfterMs: {
    default: 10_000,
    min: 100,
    max: 600_000,
    why: 'a session that stays over its rate this long is closed as a flooder instead of being throttled forever',
  },
  maxRetainedEvents: {
    default: 10_000,
    min: 0,
    max: 1_000_000,
    why: 'retained events (one per topic) kept per realm; the oldest topic is forgotten first',
  },
  httpMaxBodyBytes: {
    default: 64 * KiB,
    min: 1 * KiB,
    max: 16 * MiB,
    why: 'request body of the HTTP bridge; larger is refused with 413 before it is buffered',
  },
  httpRequestTimeoutMs: {
    default: 10_000,
    min: 100,
    max: 600_000,
    why: 'an HTTP bridge request (body, authorization, call) that takes longer is answered 504 or dropped',
  },
  httpRateRequestsPerSecond: {
    default: 20,
    min: 1,
    max: 1_000_000,
    why: 'signed HTTP bridge requests per second per key (burst: one second worth); beyond it 429',
  },
  httpNonceTtlMs: {
    default: 30_000,
    min: 100,
    max: 600_000,
    why: 'how long a nonce from GET /auth/challenge stays usable (once)',
  },
  httpMaxNonces: {
    default: 10_000,
    min: 16,
    max: 1_000_000,
    why: 'issued, unused nonces held per HTTP listener; the oldest is forgotten first',
  },
} as const satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof LIMIT_SPECS;

export type Limits = { [K in LimitName]: number };

/** Frozen: derive test limits with `{ ...DEFAULT_LIMITS, helloTimeoutMs: 200 }`. */
export const DEFAULT_LIMITS: Limits = Object.freeze(
  Object.fromEntries(Object.entries(LIMIT_SPECS).map(([name, spec]) => [name, spec.default])) as Limits,
);
