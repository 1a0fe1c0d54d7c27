import { ErrorUri, WampError } from './protocol/errors.js';
import { randomId, SequentialIds } from './protocol/ids.js';
import { MessageType, type Dict, type RouterMessage } from './protocol/messages.js';
import type { RoutedPeer } from './peer.js';

/** What a call returns to a caller inside the router (RESULT's arguments), and an internal procedure to the dealer. */
export interface CallResult {
  args?: unknown[];
  kwargs?: Dict;
}

/** Calls a WAMP procedure on behalf of the router (the dealer's `callInternal`): what the dynamic authorizer is handed. */
export type InternalCall = (procedure: string, args: unknown[], kwargs: Dict, timeoutMs: number) => Promise<CallResult>;

/** The router as the caller of `callInternal`: turns the dealer's answer into a settled promise. */
export class InternalCaller implements RoutedPeer {
  readonly id = randomId();
  readonly authid = 'switchyard';
  readonly authrole = 'switchyard';
  readonly invocationIds = new SequentialIds();

  constructor(private readonly resolve: (result: CallResult) => void, private readonly reject: (error: WampError) => void) {}

  send(message: RouterMessage): void {
    if (message.type === MessageType.RESULT && message.details.progress !== true) {
      this.resolve({ args: message.args, kwargs: message.kwargs });
    } else if (message.type === MessageType.ERROR) {
      this.reject(new WampError(message.error, String(message.args?.[0] ?? message.error), message.args, message.kwargs));
    }
  }

  sendError(_type: number, _request: number, error: string, message?: string, args?: unknown[], kwargs?: Dict): void {
    this.reject(new WampError(error, message ?? error, args, kwargs));
  }

  hasFeature(): boolean {
    return false;
  }

  isActive(): boolean {
    return true;
  }

  violation(message: string): void {
    this.reject(new WampError(ErrorUri.protocolViolation, message));
  }
}

