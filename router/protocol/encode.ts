import { MessageType, type Payload, type RouterMessage } from './messages.js';

/**
 * Typed router message → wire array (wamp-spec §1.2). Payload is appended only when present:
 * ArgumentsKw requires Arguments before it, and an empty ArgumentsKw is omitted.
 */
function withPayload(head: unknown[], payload: Payload): unknown[] {
  const hasKwargs = payload.kwargs !== undefined && Object.keys(payload.kwargs).length > 0;
  if (hasKwargs) head.push(payload.args ?? [], payload.kwargs);
  else if (payload.args !== undefined && payload.args.length > 0) head.push(payload.args);
  return head;
}

export function encodeMessage(m: RouterMessage): unknown[] {
  switch (m.type) {
    case MessageType.WELCOME: return [m.type, m.session, m.details];
    // ABORT and GOODBYE have exactly 3 elements: Autobahn|Python rejects any other length.
    case MessageType.ABORT: return [m.type, m.details, m.reason];
    case MessageType.CHALLENGE: return [m.type, m.authmethod, m.extra];
    case MessageType.GOODBYE: return [m.type, m.details, m.reason];
    case MessageType.ERROR: return withPayload([m.type, m.requestType, m.request, m.details, m.error], m);
    case MessageType.PUBLISHED: return [m.type, m.request, m.publication];
    case MessageType.SUBSCRIBED: return [m.type, m.request, m.subscription];
    case MessageType.UNSUBSCRIBED: return m.details ? [m.type, m.request, m.details] : [m.type, m.request];
    case MessageType.EVENT: return withPayload([m.type, m.subscription, m.publication, m.details], m);
    case MessageType.RESULT: return withPayload([m.type, m.request, m.details], m);
    case MessageType.REGISTERED: return [m.type, m.request, m.registration];
    case MessageType.UNREGISTERED: return m.details ? [m.type, m.request, m.details] : [m.type, m.request];
    case MessageType.INVOCATION: return withPayload([m.type, m.request, m.registration, m.details], m);
    case MessageType.INTERRUPT: return [m.type, m.request, m.options];
  }
}
