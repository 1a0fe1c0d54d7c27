import { MessageType, type Payload, type RouterMessage } from './messages.js';

/**
 * Typed router message → wire array (wamp-spec §1.2). Payload is appended only when present:
 * ArgumentsKw requires Arguments before it, and an empty ArgumentsKw is omitted.
 */
function withPayload(head: unknown[], payload: Payload): unknown[] {
  if (payload.kwargs !== undefined && Object.keys(payload.kwargs).length > 0) head.push(payload.args ?? [], payload.kwargs);
  else if (payload.args !== undefined && payload.args.length > 0) head.push(payload.args);
  return head;
}

/**
 * Whether withPayload() appends exactly the message's Arguments and ArgumentsKw, as a client sent
 * them: false without a payload, for an empty Arguments alone, and whenever an ArgumentsKw is
 * present but empty (withPayload leaves it out, so the frame's payload section would differ).
 */
export function payloadEncodedAsSent(payload: Payload): boolean {
  return payload.kwargs !== undefined ? Object.keys(payload.kwargs).length > 0 : payload.args !== undefined && payload.args.length > 0;
}

/** The elements before the payload of a message that carries one. */
export function encodeHead(m: RouterMessage): unknown[] | undefined {
  switch (m.type) {
    case MessageType.ERROR: return [m.type, m.requestType, m.request, m.details, m.error];
    case MessageType.EVENT: return [m.type, m.subscription, m.publication, m.details];
    case MessageType.RESULT: return [m.type, m.request, m.details];
    case MessageType.INVOCATION: return [m.type, m.request, m.registration, m.details];
    default: return undefined;
  }
}

export function encodeMessage(m: RouterMessage): unknown[] {
  switch (m.type) {
    case MessageType.WELCOME: return [m.type, m.session, m.details];
    // ABORT and GOODBYE have exactly 3 elements: Autobahn|Python rejects any other length.
    case MessageType.ABORT: return [m.type, m.details, m.reason];
    case MessageType.CHALLENGE: return [m.type, m.authmethod, m.extra];
    case MessageType.GOODBYE: return [m.type, m.details, m.reason];
    case MessageType.ERROR:
    case MessageType.EVENT:
    case MessageType.RESULT:
    case MessageType.INVOCATION: return withPayload(encodeHead(m)!, m);
    case MessageType.PUBLISHED: return [m.type, m.request, m.publication];
    case MessageType.SUBSCRIBED: return [m.type, m.request, m.subscription];
    case MessageType.UNSUBSCRIBED: return m.details ? [m.type, m.request, m.details] : [m.type, m.request];
    case MessageType.REGISTERED: return [m.type, m.request, m.registration];
    case MessageType.UNREGISTERED: return m.details ? [m.type, m.request, m.details] : [m.type, m.request];
    case MessageType.INTERRUPT: return [m.type, m.request, m.options];
  }
}
