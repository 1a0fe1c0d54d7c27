/**
 * WAMP error and close URIs (wamp-spec §4.2) and the router's error classes.
 * Where Crossbar and the spec text differ we follow what autobahn clients see from Crossbar and
 * note it (wamp-spec §13).
 */

export const ErrorUri = {
  invalidUri: 'wamp.error.invalid_uri',
  noSuchProcedure: 'wamp.error.no_such_procedure',
  procedureAlreadyExists: 'wamp.error.procedure_already_exists',
  noSuchRegistration: 'wamp.error.no_such_registration',
  noSuchSubscription: 'wamp.error.no_such_subscription',
  invalidArgument: 'wamp.error.invalid_argument',
  canceled: 'wamp.error.canceled',
  timeout: 'wamp.error.timeout',
  payloadSizeExceeded: 'wamp.error.payload_size_exceeded',
  protocolViolation: 'wamp.error.protocol_violation',
  notAuthorized: 'wamp.error.not_authorized',
  authorizationFailed: 'wamp.error.authorization_failed',
  authenticationFailed: 'wamp.error.authentication_failed',
  noSuchRealm: 'wamp.error.no_such_realm',
  noSuchRole: 'wamp.error.no_such_role',
  noSuchPrincipal: 'wamp.error.no_such_principal',
  /** Crossbar/Autobahn name; the spec text says `no_matching_auth_method` (wamp-spec §13.2). */
  noAuthMethod: 'wamp.error.no_auth_method',
  noSuchSession: 'wamp.error.no_such_session',
  optionNotAllowed: 'wamp.error.option_not_allowed',
  featureNotSupported: 'wamp.error.feature_not_supported',
  /** Crossbar's name for a REGISTER whose `invoke` differs from the existing shared registration. */
  procedureExistsWithDifferentInvocationPolicy:
    'wamp.error.procedure_exists_with_different_invocation_policy',
  /** Callee has reached its per-registration `concurrency` (Crossbar extension name). */
  maxConcurrencyReached: 'crossbar.error.max_concurrency_reached',
  /** The cluster link (NATS) could not carry the request ("router network failure", wamp-spec §4.2). */
  networkFailure: 'wamp.error.network_failure',
  /** Session exceeded `limits.maxPendingCallsPerSession`. */
  tooManyPendingCalls: 'switchyard.error.too_many_pending_calls',
} as const;

export const CloseUri = {
  systemShutdown: 'wamp.close.system_shutdown',
  closeRealm: 'wamp.close.close_realm',
  goodbyeAndOut: 'wamp.close.goodbye_and_out',
  killed: 'wamp.close.killed',
  revoked: 'wamp.close.revoked',
  normal: 'wamp.close.normal',
} as const;

/**
 * A structural error in what a peer sent. The session answers it with
 * ABORT `wamp.error.protocol_violation` and closes the transport (wamp-spec §2.6).
 */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

/** An error to report to the requester as a WAMP ERROR message; the session stays up. */
export class WampError extends Error {
  constructor(readonly uri: string, message: string, readonly args?: unknown[], readonly kwargs?: Record<string, unknown>) {
    super(message);
    this.name = 'WampError';
  }
}
