/** What the bench's routers and clients agree on. */

export const REALM = 'realm1';
export const PROCEDURE = 'bench.echo';
export const TOPIC = 'bench.topic';
export const FANOUT_TOPIC = 'bench.fanout';

/** The salted WAMP-CRA user of the handshake scenario (wamp-spec §6.2). */
export const CRA_USER = {
  authid: 'bench-user',
  role: 'bench',
  secret: 'bench-secret',
  salt: 'bench-salt-0123',
  iterations: 1000,
  keylen: 32,
} as const;

/** Small payload carried by every call, result and event (the figures are for small messages). */
export const PAYLOAD_JSON = '["0123456789abcdef0123456789abcdef"]';
export const PAYLOAD: unknown[] = JSON.parse(PAYLOAD_JSON) as unknown[];
