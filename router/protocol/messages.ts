/**
 * The WAMP v2 vocabulary: one code and one TypeScript type per message (wamp-spec §1.2).
 * Broker, dealer and session only ever see these typed messages; raw arrays exist only in
 * `decode.ts` (inbound) and `encode.ts` (outbound).
 */

export const enum MessageType {
  HELLO = 1,
  WELCOME = 2,
  ABORT = 3,
  CHALLENGE = 4,
  AUTHENTICATE = 5,
  GOODBYE = 6,
  ERROR = 8,
  PUBLISH = 16,
  PUBLISHED = 17,
  SUBSCRIBE = 32,
  SUBSCRIBED = 33,
  UNSUBSCRIBE = 34,
  UNSUBSCRIBED = 35,
  EVENT = 36,
  CALL = 48,
  CANCEL = 49,
  RESULT = 50,
  REGISTER = 64,
  REGISTERED = 65,
  UNREGISTER = 66,
  UNREGISTERED = 67,
  INVOCATION = 68,
  INTERRUPT = 69,
  YIELD = 70,
}

/** A WAMP dictionary (Options, Details, ArgumentsKw): string keys, any serializable value. */
export type Dict = Record<string, unknown>;
/** Positional application payload. */
export type Args = unknown[];

/** Application payload carried at the tail of PUBLISH/EVENT/CALL/INVOCATION/YIELD/RESULT/ERROR/ABORT. */
export interface Payload {
  args?: Args;
  kwargs?: Dict;
  /**
   * The payload as it arrived, when a message passes it on unchanged (CALL → INVOCATION,
   * YIELD → RESULT): a receiver with the same serializer gets this section of the sender's frame
   * instead of a fresh encoding of `args`/`kwargs`, which it decodes to the same values.
   */
  encoded?: EncodedPayload;
}

/**
 * The Arguments (and ArgumentsKw) section of a frame, in the format it was encoded in. Only made
 * when it holds exactly what encoding `args`/`kwargs` would write (not an empty list or dict the
 * encoder leaves out).
 */
export interface EncodedPayload {
  /** The serializer's name (`json`, ...). */
  readonly format: string;
  readonly section: string;
}

export interface Hello { type: MessageType.HELLO; realm: string; details: Dict }
export interface Welcome { type: MessageType.WELCOME; session: number; details: Dict }
export interface Abort { type: MessageType.ABORT; details: Dict; reason: string }
export interface Challenge { type: MessageType.CHALLENGE; authmethod: string; extra: Dict }
export interface Authenticate { type: MessageType.AUTHENTICATE; signature: string; extra: Dict }
export interface Goodbye { type: MessageType.GOODBYE; details: Dict; reason: string }
export interface ErrorMessage extends Payload {
  type: MessageType.ERROR; requestType: number; request: number; details: Dict; error: string;
}
export interface Publish extends Payload { type: MessageType.PUBLISH; request: number; options: Dict; topic: string }
export interface Published { type: MessageType.PUBLISHED; request: number; publication: number }
export interface Subscribe { type: MessageType.SUBSCRIBE; request: number; options: Dict; topic: string }
export interface Subscribed { type: MessageType.SUBSCRIBED; request: number; subscription: number }
export interface Unsubscribe { type: MessageType.UNSUBSCRIBE; request: number; subscription: number }
/** `request` 0 with `details` is the router-initiated revocation form (wamp-spec §7.6). */
export interface Unsubscribed { type: MessageType.UNSUBSCRIBED; request: number; details?: Dict }
export interface Event extends Payload {
  type: MessageType.EVENT; subscription: number; publication: number; details: Dict;
}
export interface Call extends Payload { type: MessageType.CALL; request: number; options: Dict; procedure: string }
export interface Cancel { type: MessageType.CANCEL; request: number; options: Dict }
export interface Result extends Payload { type: MessageType.RESULT; request: number; details: Dict }
export interface Register { type: MessageType.REGISTER; request: number; options: Dict; procedure: string }
export interface Registered { type: MessageType.REGISTERED; request: number; registration: number }
export interface Unregister { type: MessageType.UNREGISTER; request: number; registration: number }
/** `request` 0 with `details` is the router-initiated revocation form (wamp-spec §8.10). */
export interface Unregistered { type: MessageType.UNREGISTERED; request: number; details?: Dict }
export interface Invocation extends Payload {
  type: MessageType.INVOCATION; request: number; registration: number; details: Dict;
}
export interface Interrupt { type: MessageType.INTERRUPT; request: number; options: Dict }
export interface Yield extends Payload { type: MessageType.YIELD; request: number; options: Dict }

export type WampMessage =
  | Hello | Welcome | Abort | Challenge | Authenticate | Goodbye | ErrorMessage
  | Publish | Published | Subscribe | Subscribed | Unsubscribe | Unsubscribed | Event
  | Call | Cancel | Result | Register | Registered | Unregister | Unregistered
  | Invocation | Interrupt | Yield;

/** Messages a client may send to a router; everything else arriving from a client is a violation. */
export type ClientMessage =
  | Hello | Abort | Authenticate | Goodbye | ErrorMessage | Publish | Subscribe | Unsubscribe
  | Call | Cancel | Register | Unregister | Yield;

/** Messages the router sends. */
export type RouterMessage =
  | Welcome | Abort | Challenge | Goodbye | ErrorMessage | Published | Subscribed | Unsubscribed
  | Event | Result | Registered | Unregistered | Invocation | Interrupt;

/** Human-readable names, used in logs and protocol-violation messages. */
export const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  1: 'HELLO', 2: 'WELCOME', 3: 'ABORT', 4: 'CHALLENGE', 5: 'AUTHENTICATE', 6: 'GOODBYE', 8: 'ERROR',
  16: 'PUBLISH', 17: 'PUBLISHED', 32: 'SUBSCRIBE', 33: 'SUBSCRIBED', 34: 'UNSUBSCRIBE',
  35: 'UNSUBSCRIBED', 36: 'EVENT', 48: 'CALL', 49: 'CANCEL', 50: 'RESULT', 64: 'REGISTER',
  65: 'REGISTERED', 66: 'UNREGISTER', 67: 'UNREGISTERED', 68: 'INVOCATION', 69: 'INTERRUPT',
  70: 'YIELD',
};
