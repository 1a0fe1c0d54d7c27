import { ProtocolViolation } from './errors.js';
import { isValidId } from './ids.js';
import {
  MESSAGE_NAMES, MessageType, type Call, type ClientMessage, type Dict, type ErrorMessage, type Publish, type Yield,
} from './messages.js';

/**
 * The single gate between the wire and the router: a decoded frame (any value) becomes a typed
 * client message, or a ProtocolViolation. It checks arity, element types and ID ranges; URI
 * *syntax* is checked later by broker/dealer, because an invalid URI in a well-formed message is
 * answered with ERROR `wamp.error.invalid_uri` and the session stays up (wamp-spec §4.1).
 */

export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value)
    && !(value instanceof Map) && !(value instanceof Date);
}

type Raw = unknown[];

function fail(message: string): never {
  throw new ProtocolViolation(message);
}

function arity(raw: Raw, name: string, min: number, max: number): void {
  if (raw.length < min || raw.length > max) {
    fail(min === max ? `${name} must have ${min} elements, got ${raw.length}`
      : `${name} must have ${min} to ${max} elements, got ${raw.length}`);
  }
}

function id(raw: Raw, index: number, field: string): number {
  const value = raw[index];
  if (!isValidId(value)) fail(`${field} must be an integer in [1, 2^53]`);
  return value;
}

function dict(raw: Raw, index: number, field: string): Dict {
  const value = raw[index];
  if (!isDict(value)) fail(`${field} must be a dict`);
  return value;
}

function str(raw: Raw, index: number, field: string): string {
  const value = raw[index];
  if (typeof value !== 'string') fail(`${field} must be a string`);
  return value;
}

/**
 * Adds the optional Arguments|list and ArgumentsKw|dict at `index` and `index + 1` to `message`.
 * Absent payload stays absent keys. (Assigned, not spread: a spread copy per CALL and YIELD showed
 * in the rpc profile.)
 */
function withPayload<T extends { args?: unknown[]; kwargs?: Dict }>(message: T, raw: Raw, index: number): T {
  if (raw.length > index) {
    if (!Array.isArray(raw[index])) fail('Arguments must be a list');
    message.args = raw[index] as unknown[];
  }
  if (raw.length > index + 1) {
    if (!isDict(raw[index + 1])) fail('ArgumentsKw must be a dict');
    message.kwargs = raw[index + 1] as Dict;
  }
  return message;
}

type Decoder = (raw: Raw) => ClientMessage;

const DECODERS: Partial<Record<number, Decoder>> = {
  [MessageType.HELLO]: (raw) => {
    arity(raw, 'HELLO', 3, 3);
    return { type: MessageType.HELLO, realm: str(raw, 1, 'HELLO.Realm'), details: dict(raw, 2, 'HELLO.Details') };
  },
  [MessageType.ABORT]: (raw) => {
    arity(raw, 'ABORT', 3, 5);
    withPayload({}, raw, 3); // tolerated for lenient clients, but still type-checked
    return { type: MessageType.ABORT, details: dict(raw, 1, 'ABORT.Details'), reason: str(raw, 2, 'ABORT.Reason') };
  },
  [MessageType.AUTHENTICATE]: (raw) => {
    arity(raw, 'AUTHENTICATE', 3, 3);
    return {
      type: MessageType.AUTHENTICATE,
      signature: str(raw, 1, 'AUTHENTICATE.Signature'),
      extra: dict(raw, 2, 'AUTHENTICATE.Extra'),
    };
  },
  [MessageType.GOODBYE]: (raw) => {
    arity(raw, 'GOODBYE', 3, 3);
    return { type: MessageType.GOODBYE, details: dict(raw, 1, 'GOODBYE.Details'), reason: str(raw, 2, 'GOODBYE.Reason') };
  },
  [MessageType.ERROR]: (raw) => {
    arity(raw, 'ERROR', 5, 7);
    const requestType = raw[1];
    // A client only ever answers an INVOCATION with ERROR (wamp-spec §1.2).
    if (requestType !== MessageType.INVOCATION) fail('ERROR from a client must answer an INVOCATION (68)');
    return withPayload<ErrorMessage>({
      type: MessageType.ERROR,
      requestType,
      request: id(raw, 2, 'ERROR.Request'),
      details: dict(raw, 3, 'ERROR.Details'),
      error: str(raw, 4, 'ERROR.Error'),
    }, raw, 5);
  },
  [MessageType.PUBLISH]: (raw) => {
    arity(raw, 'PUBLISH', 4, 6);
    return withPayload<Publish>({
      type: MessageType.PUBLISH,
      request: id(raw, 1, 'PUBLISH.Request'),
      options: dict(raw, 2, 'PUBLISH.Options'),
      topic: str(raw, 3, 'PUBLISH.Topic'),
    }, raw, 4);
  },
  [MessageType.SUBSCRIBE]: (raw) => {
    arity(raw, 'SUBSCRIBE', 4, 4);
    return {
      type: MessageType.SUBSCRIBE,
      request: id(raw, 1, 'SUBSCRIBE.Request'),
      options: dict(raw, 2, 'SUBSCRIBE.Options'),
      topic: str(raw, 3, 'SUBSCRIBE.Topic'),
    };
  },
  [MessageType.UNSUBSCRIBE]: (raw) => {
    arity(raw, 'UNSUBSCRIBE', 3, 3);
    return {
      type: MessageType.UNSUBSCRIBE,
      request: id(raw, 1, 'UNSUBSCRIBE.Request'),
      subscription: id(raw, 2, 'UNSUBSCRIBE.Subscription'),
    };
  },
  [MessageType.CALL]: (raw) => {
    arity(raw, 'CALL', 4, 6);
    return withPayload<Call>({
      type: MessageType.CALL,
      request: id(raw, 1, 'CALL.Request'),
      options: dict(raw, 2, 'CALL.Options'),
      procedure: str(raw, 3, 'CALL.Procedure'),
    }, raw, 4);
  },
  [MessageType.CANCEL]: (raw) => {
    arity(raw, 'CANCEL', 3, 3);
    return { type: MessageType.CANCEL, request: id(raw, 1, 'CANCEL.Request'), options: dict(raw, 2, 'CANCEL.Options') };
  },
  [MessageType.REGISTER]: (raw) => {
    arity(raw, 'REGISTER', 4, 4);
    return {
      type: MessageType.REGISTER,
      request: id(raw, 1, 'REGISTER.Request'),
      options: dict(raw, 2, 'REGISTER.Options'),
      procedure: str(raw, 3, 'REGISTER.Procedure'),
    };
  },
  [MessageType.UNREGISTER]: (raw) => {
    arity(raw, 'UNREGISTER', 3, 3);
    return {
      type: MessageType.UNREGISTER,
      request: id(raw, 1, 'UNREGISTER.Request'),
      registration: id(raw, 2, 'UNREGISTER.Registration'),
    };
  },
  [MessageType.YIELD]: (raw) => {
    arity(raw, 'YIELD', 3, 5);
    return withPayload<Yield>({
      type: MessageType.YIELD,
      request: id(raw, 1, 'YIELD.Request'),
      options: dict(raw, 2, 'YIELD.Options'),
    }, raw, 3);
  },
};

/** Decode one deserialized frame sent by a client. Throws ProtocolViolation. */
export function decodeClientMessage(value: unknown): ClientMessage {
  if (!Array.isArray(value)) fail('a WAMP message must be a list');
  if (value.length === 0) fail('a WAMP message must not be empty');
  const code = value[0];
  if (typeof code !== 'number' || !Number.isInteger(code)) fail('message type must be an integer');
  const decoder = DECODERS[code];
  if (!decoder) {
    const name = MESSAGE_NAMES[code];
    fail(name ? `${name} (${code}) is not a message a client may send` : `unknown message type ${code}`);
  }
  return decoder(value);
}
