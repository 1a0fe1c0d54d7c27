/**
 * Router configuration: the types, one ajv schema compiled once at module load, and the checks a
 * schema cannot express. Unknown keys are errors everywhere, so a misspelt limit is reported instead
 * of silently keeping its default. Every problem is reported as `<json path>: <reason>`.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { LIMIT_SPECS, type Limits } from './limits.js';
import { isValidUri, type MatchPolicy } from './protocol/uri.js';
import { locate, parseConfigText } from './config-file.js';
import { describeSchemaError, type ConfigProblem } from './config-problems.js';

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export interface ListenerConfig {
  /**
   * RawSocket listeners use host, port, serializers, tls, trustProxy (PROXY v1); the WebSocket-only
   * keys are ignored. `universal` serves WebSocket (on `path`), RawSocket and the HTTP bridge on one port.
   */
  type: 'websocket' | 'rawsocket' | 'http' | 'universal';
  host: string;
  port: number;
  path: string;
  serializers: SerializerName[];
  /** Origins (`scheme://host[:port]`) accepted in addition to the listener's own host. */
  allowedOrigins: string[];
  /** Refuse upgrades without an Origin header (that is, non-browser clients). */
  requireOrigin: boolean;
  /** Serve wss (and TLS RawSocket) with this key and certificate. */
  tls?: TlsConfig;
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy: boolean;
  /** permessage-deflate; off by default (OWASP). Inflated messages are capped by maxMessageBytes. */
  compression: boolean;
}

/** PEM text or file paths. */
export interface TlsConfig {
  key: string;
  cert: string;
  ca?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export type Action = 'call' | 'register' | 'publish' | 'subscribe';

export interface PermissionConfig {
  uri: string;
  match: MatchPolicy;
  /** A missing action means deny. */
  allow: Partial<Record<Action, boolean>>;
  disclose?: { caller?: boolean; publisher?: boolean };
}

export interface RoleConfig {
  name: string;
  permissions: PermissionConfig[];
  /** Inbound rate for sessions of this role; overrides `limits.rate*` (0 = unlimited). */
  rate?: { messagesPerSecond?: number; burst?: number; bytesPerSecond?: number };
  /** What the session meta API shows this role of other sessions beyond who they are (off by default). */
  meta?: RoleMetaConfig;
}

/** `authextra`: sessions' authextra; `transport`: their transport details (type, protocol, peer address). A missing flag is false. */
export interface RoleMetaConfig {
  authextra?: boolean;
  transport?: boolean;
}

export interface AnonymousAuthConfig {
  role: string;
}

export interface TicketUserConfig {
  ticket: string;
  role: string;
  extra?: Record<string, unknown>;
}

/**
 * A WAMP-CRA user: `secret` alone (plain: the secret is the HMAC key), or `key` + `salt` (salted:
 * the base64 PBKDF2-HMAC-SHA256 key; the password is never stored), or `secret` + `salt`
 * (derived once at load, with a warning to store the key instead).
 */
export interface WampCraUserConfig {
  role: string;
  secret?: string;
  key?: string;
  salt?: string;
  iterations: number;
  keylen: number;
  extra?: Record<string, unknown>;
}

/** Per-login WAMP-CRA credentials minted at runtime by `switchyard.auth.issue`. */
export interface IssueConfig {
  /** Roles an issued credential may carry. */
  roles: string[];
  lifetimeMs: number;
}

export interface WampCraAuthConfig {
  users: Record<string, WampCraUserConfig>;
  issue?: IssueConfig;
}

export interface CryptosignUserConfig {
  /** Ed25519 public keys, 64 hex characters each. */
  pubkeys: string[];
  role: string;
  extra?: Record<string, unknown>;
}

export type DynamicMethod = 'ticket' | 'wampcra' | 'cryptosign';

/** A WAMP procedure, registered by a session allowed to register it, that looks users up. */
export interface DynamicAuthConfig {
  procedure: string;
  methods: DynamicMethod[];
}

/** One key per enabled method; a realm without any admits nobody. */
export interface AuthConfig {
  anonymous?: AnonymousAuthConfig;
  ticket?: { users: Record<string, TicketUserConfig> };
  wampcra?: WampCraAuthConfig;
  cryptosign?: { users: Record<string, CryptosignUserConfig> };
  dynamic?: DynamicAuthConfig;
}

/**
 * A WAMP procedure asked `(session details, uri, action)` wherever the role's static rules are
 * silent; it answers `true`/`false` or `{allow, disclose}`.
 */
export interface AuthorizerConfig {
  procedure: string;
  /** How long an answer is reused for the same (authrole, uri, action); 0 = ask every time. */
  ttlMs: number;
  /** An authorizer slower than this is a deny. */
  timeoutMs: number;
}

/** A key of the HTTP bridge: callers sign requests with `secret` and act with `role`. */
export interface HttpKeyConfig {
  secret: string;
  role: string;
}

export interface RealmConfig {
  name: string;
  roles: RoleConfig[];
  auth: AuthConfig;
  /** Keys for challenge-signed requests on `"type": "http"` listeners (router/transport/http-bridge.ts). */
  http?: { keys: Record<string, HttpKeyConfig> };
  authorizer?: AuthorizerConfig;
  /** How often live sessions' credentials are checked again (expiry, revocation, removal). */
  reverifyIntervalMs: number;
}

export interface LogConfig {
  level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export interface RouterConfig {
  listeners: ListenerConfig[];
  limits: Limits;
  realms: RealmConfig[];
  log: LogConfig;
  /** The operations HTTP endpoint (router/ops/ops-server.ts); off when absent. */
  ops?: OpsConfig;
  /** Scale-out over NATS (router/cluster/); without it no NATS code is loaded. */
  cluster?: ClusterConfig;
}

/** One realm served by several processes through a NATS server (README "Scaling out"). */
export interface ClusterConfig {
  /** NATS server URL(s). */
  nats: string | string[];
  /** This process's id in the cluster: unique among live nodes. */
  node: string;
  /** First token of every subject and KV bucket name, so several clusters can share NATS. */
  prefix: string;
  /** NATS credentials; `${NAME}` in a value is replaced by the environment variable NAME. */
  auth?: { user?: string; pass?: string; token?: string };
  /** TLS to NATS: CA, and a client certificate and key for mutual TLS (file paths). */
  tls?: { ca?: string; cert?: string; key?: string };
  heartbeatMs: number;
  /** A node silent this long is dead: its registrations vanish and calls in flight to it fail. */
  deadAfterMs: number;
  /** How long a cluster-wide meta API answer waits for the other nodes. */
  metaTimeoutMs: number;
  /** How long start-up keeps trying to reach NATS before it refuses. */
  connectTimeoutMs: number;
  /** Registration table storage: memory (re-asserted after a NATS restart) or file. */
  registryStorage: 'memory' | 'file';
  /** KV replicas (3 with a 3-server NATS cluster). */
  replicas: number;
  /** `roundrobin`/`random` registrations choose this node's own callees while one is available. */
  preferLocal: boolean;
  /** Refuse to start while a live peer's realms, roles, users or limits differ from this node's. */
  strictConfig: boolean;
}

/** `/metrics`, `/healthz`, `/readyz`, `/status`, `/status.json` on their own port. */
export interface OpsConfig {
  host: string;
  port: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Serve `/status` and `/status.json` (sessions, registrations, counters). */
  status: boolean;
}

export type { ConfigProblem };

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(source: string, problems: ConfigProblem[]) {
    super(`invalid ${source}:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `router.config.json` at the package root (this file runs as `dist/router/config.js`). */
export const DEFAULT_CONFIG_PATH: string = fileURLToPath(new URL('../../router.config.json', import.meta.url));

const SERIALIZERS: SerializerName[] = ['json', 'msgpack', 'cbor'];
const ACTIONS: Action[] = ['call', 'register', 'publish', 'subscribe'];

/** A NATS server URL: nats:// or tls://, a host, optionally a port. */
const NATS_URL = { type: 'string', maxLength: 2048, pattern: '^(nats|tls)://[^/\\s]+$' };

/** An object schema that rejects unknown keys. */
function object(properties: Record<string, object>, required: string[] = [], extra: object = {}): object {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

function booleans(names: string[]): Record<string, object> {
  return Object.fromEntries(names.map((name) => [name, { type: 'boolean' }]));
}

const NAME = { type: 'string', minLength: 1, maxLength: 255, pattern: '^\\S+$' };

const limitsSchema = object(
  Object.fromEntries(
    Object.entries(LIMIT_SPECS).map(([name, spec]) => [
      name,
      { type: 'integer', minimum: spec.min, maximum: spec.max, default: spec.default, description: spec.why },
    ]),
  ),
  [],
  { default: {} },
);

const listenerSchema = object(
  {
    type: {
      type: 'string',
      enum: ['websocket', 'rawsocket', 'http', 'universal'],
      description: 'rawsocket (wamp-spec §11.3, TCP or TLS) uses host, port, serializers, tls and trustProxy (a PROXY protocol v1 line instead of X-Forwarded-For); path, allowedOrigins, requireOrigin and compression apply to websocket only and are ignored for rawsocket; http (the signed-request bridge) uses host, port, tls, trustProxy, allowedOrigins and requireOrigin; universal serves websocket (on path), rawsocket (connections starting with 0x7F) and the http bridge routes on one port, with every key but trustProxy',
    },
    host: { type: 'string', minLength: 1, maxLength: 255, pattern: '^\\S+$', default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    path: { type: 'string', pattern: '^/\\S*$', maxLength: 1024, default: '/ws' },
    serializers: {
      type: 'array',
      items: { type: 'string', enum: SERIALIZERS },
      minItems: 1,
      uniqueItems: true,
      default: SERIALIZERS,
    },
    allowedOrigins: {
      type: 'array',
      // What browsers send in the Origin header: no path, not even a trailing slash.
      items: { type: 'string', maxLength: 2048, pattern: '^(\\*|[A-Za-z][A-Za-z0-9+.\\-]*://[^/\\s*]+)$' },
      uniqueItems: true,
      default: [],
    },
    requireOrigin: { type: 'boolean', default: false },
    tls: object(
      {
        key: { type: 'string', minLength: 1 },
        cert: { type: 'string', minLength: 1 },
        ca: { type: 'string', minLength: 1 },
        minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2' },
      },
      ['key', 'cert'],
    ),
    trustProxy: { type: 'boolean', default: false },
    compression: { type: 'boolean', default: false },
  },
  ['type'],
);

const permissionSchema = object(
  {
    uri: { type: 'string' },
    match: { type: 'string', enum: ['exact', 'prefix', 'wildcard'] },
    allow: object(booleans(ACTIONS)),
    disclose: object(booleans(['caller', 'publisher'])),
  },
  ['uri', 'match', 'allow'],
);

const EXTRA = { type: 'object' };
const SECRET = { type: 'string', minLength: 1, maxLength: 4096 };
const users = (user: object) => ({ type: 'object', propertyNames: NAME, additionalProperties: user, default: {} });

const wampcraUserSchema = object(
  {
    role: NAME,
    secret: SECRET,
    key: { type: 'string', pattern: '^[A-Za-z0-9+/]+={0,2}$', minLength: 4, maxLength: 1024 },
    salt: { type: 'string', minLength: 1, maxLength: 1024 },
    iterations: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 1000 },
    keylen: { type: 'integer', minimum: 8, maximum: 256, default: 32 },
    extra: EXTRA,
  },
  ['role'],
);

const authSchema = object(
  {
    anonymous: object({ role: NAME }, ['role']),
    ticket: object({ users: users(object({ ticket: SECRET, role: NAME, extra: EXTRA }, ['ticket', 'role'])) }),
    wampcra: object(
      {
        users: users(wampcraUserSchema),
        issue: object(
          {
            roles: { type: 'array', items: NAME, minItems: 1, uniqueItems: true },
            lifetimeMs: { type: 'integer', minimum: 1000, maximum: 30 * 86_400_000, default: 8 * 3_600_000 },
          },
          ['roles'],
        ),
      },
    ),
    cryptosign: object(
      {
        users: users(object({
          pubkeys: { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' }, minItems: 1, uniqueItems: true },
          role: NAME,
          extra: EXTRA,
        }, ['pubkeys', 'role'])),
      },
    ),
    dynamic: object(
      {
        procedure: { type: 'string', minLength: 1 },
        methods: { type: 'array', items: { type: 'string', enum: ['ticket', 'wampcra', 'cryptosign'] }, minItems: 1, uniqueItems: true },
      },
      ['procedure', 'methods'],
    ),
  },
  [],
  { default: {} },
);

const realmSchema = object(
  {
    name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_\\-@.]{2,254}$' },
    roles: {
      type: 'array',
      items: object({
        name: NAME,
        permissions: { type: 'array', items: permissionSchema, default: [] },
        rate: object({
          messagesPerSecond: { type: 'integer', minimum: 0, maximum: 10_000_000 },
          burst: { type: 'integer', minimum: 1, maximum: 10_000_000 },
          bytesPerSecond: { type: 'integer', minimum: 0, maximum: 1024 * 1024 * 1024 },
        }),
        meta: object(booleans(['authextra', 'transport'])),
      }, ['name']),
      default: [],
    },
    auth: authSchema,
    authorizer: object(
      {
        procedure: { type: 'string', minLength: 1 },
        ttlMs: { type: 'integer', minimum: 0, maximum: 86_400_000, default: 60_000 },
        timeoutMs: { type: 'integer', minimum: 10, maximum: 600_000, default: 5_000 },
      },
      ['procedure'],
    ),
    reverifyIntervalMs: { type: 'integer', minimum: 100, maximum: 86_400_000, default: 60_000 },
    http: object({ keys: users(object({ secret: { ...SECRET, minLength: 16 }, role: NAME }, ['secret', 'role'])) }, ['keys']),
  },
  ['name'],
);

export const routerSchema: object = object(
  {
    listeners: { type: 'array', items: listenerSchema, default: [{ type: 'websocket' }] },
    limits: limitsSchema,
    realms: { type: 'array', items: realmSchema, minItems: 1 },
    log: object({ level: { type: 'string', enum: ['debug', 'info', 'warn', 'error', 'silent'], default: 'info' } }, [], {
      default: {},
    }),
    ops: object({
      host: { type: 'string', minLength: 1, maxLength: 255, pattern: '^\\S+$', default: '127.0.0.1' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 9090 },
      token: { type: 'string', minLength: 16, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' },
      status: { type: 'boolean', default: true },
    }),
    cluster: object(
      {
        nats: {
          anyOf: [NATS_URL, { type: 'array', items: NATS_URL, minItems: 1, uniqueItems: true }],
        },
        node: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
        prefix: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,15}$', default: 'sy' },
        auth: object({ user: { type: 'string', minLength: 1 }, pass: { type: 'string', minLength: 1 }, token: { type: 'string', minLength: 1 } }),
        tls: object({ ca: { type: 'string', minLength: 1 }, cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } }),
        heartbeatMs: { type: 'integer', minimum: 50, maximum: 60_000, default: 1000 },
        deadAfterMs: { type: 'integer', minimum: 150, maximum: 600_000, default: 3000 },
        metaTimeoutMs: { type: 'integer', minimum: 10, maximum: 60_000, default: 250 },
        connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 10_000 },
        registryStorage: { type: 'string', enum: ['memory', 'file'], default: 'memory' },
        replicas: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
        preferLocal: { type: 'boolean', default: false },
        strictConfig: { type: 'boolean', default: false },
      },
      ['nats', 'node'],
    ),
  },
  ['realms'],
);

// verbose: errors carry the offending value, which the messages quote.
const validateSchema = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true }).compile(routerSchema);

/** What the schema cannot say: URIs per match policy, uniqueness, references between sections. */
function semanticProblems(config: RouterConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const firstSeen = (seen: Map<string, string>, key: string, path: string, what: string) => {
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, path);
    else problems.push({ path, message: `duplicate ${what} (same as ${earlier})` });
  };

  const listeners = new Map<string, string>();
  config.listeners.forEach((listener, i) => {
    // Port 0 asks the OS for a fresh port, so several of those never collide.
    if (listener.port !== 0) {
      firstSeen(listeners, `${listener.host}:${listener.port}`, `/listeners/${i}`, `listener ${listener.host}:${listener.port}`);
    }
    if (listener.type === 'universal' && listener.trustProxy) {
      problems.push({ path: `/listeners/${i}/trustProxy`, message: 'a universal listener cannot trust a proxy (X-Forwarded-For for HTTP and a PROXY line for RawSocket cannot share one port); use separate websocket/http and rawsocket listeners behind a proxy' });
    }
  });

  if (config.cluster && config.cluster.deadAfterMs < 2 * config.cluster.heartbeatMs) {
    problems.push({ path: '/cluster/deadAfterMs', message: `must be at least twice heartbeatMs (${config.cluster.heartbeatMs}), or one late heartbeat kills a live node` });
  }

  const realms = new Map<string, string>();
  config.realms.forEach((realm, r) => {
    const at = `/realms/${r}`;
    firstSeen(realms, realm.name, `${at}/name`, `realm name ${JSON.stringify(realm.name)}`);
    const roles = new Map<string, string>();
    realm.roles.forEach((role, o) => {
      firstSeen(roles, role.name, `${at}/roles/${o}/name`, `role name ${JSON.stringify(role.name)}`);
      role.permissions.forEach((permission, p) => {
        if (!isValidUri(permission.uri, permission.match, config.limits)) {
          problems.push({
            path: `${at}/roles/${o}/permissions/${p}/uri`,
            message: `${JSON.stringify(permission.uri)} is not a valid URI for match "${permission.match}"`,
          });
        }
      });
    });
    problems.push(...authProblems(realm, `${at}/auth`, roles, config));
  });
  return problems;
}

/** Roles that users reference must exist; WAMP-CRA users need exactly one of secret/key, a key needs its salt. */
function authProblems(realm: RealmConfig, at: string, roles: Map<string, string>, config: RouterConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const needRole = (role: string, path: string) => {
    if (!roles.has(role)) problems.push({ path, message: `role ${JSON.stringify(role)} is not defined on realm ${JSON.stringify(realm.name)}` });
  };
  const { anonymous, ticket, wampcra, cryptosign, dynamic } = realm.auth;
  if (anonymous) needRole(anonymous.role, `${at}/anonymous/role`);
  for (const [authid, user] of Object.entries(ticket?.users ?? {})) needRole(user.role, `${at}/ticket/users/${authid}/role`);
  for (const [authid, user] of Object.entries(cryptosign?.users ?? {})) needRole(user.role, `${at}/cryptosign/users/${authid}/role`);
  for (const [authid, user] of Object.entries(wampcra?.users ?? {})) {
    const path = `${at}/wampcra/users/${authid}`;
    needRole(user.role, `${path}/role`);
    if ((user.secret === undefined) === (user.key === undefined)) {
      problems.push({ path, message: 'needs exactly one of "secret" (plain or with salt) and "key" (salted PBKDF2 key)' });
    }
    if (user.key !== undefined && user.salt === undefined) {
      problems.push({ path, message: 'a PBKDF2 "key" needs the "salt" it was derived with' });
    }
  }
  wampcra?.issue?.roles.forEach((role, i) => needRole(role, `${at}/wampcra/issue/roles/${i}`));
  for (const [keyId, key] of Object.entries(realm.http?.keys ?? {})) needRole(key.role, `${at.replace(/\/auth$/, '/http')}/keys/${keyId}/role`);
  if (realm.authorizer && !isValidUri(realm.authorizer.procedure, 'exact', config.limits)) {
    problems.push({ path: at.replace(/\/auth$/, '/authorizer/procedure'), message: `${JSON.stringify(realm.authorizer.procedure)} is not a valid procedure URI` });
  }
  if (dynamic && !isValidUri(dynamic.procedure, 'exact', config.limits)) {
    problems.push({ path: `${at}/dynamic/procedure`, message: `${JSON.stringify(dynamic.procedure)} is not a valid procedure URI` });
  }
  return problems;
}

function validate(input: unknown, source: string): RouterConfig {
  let data: unknown;
  try {
    data = structuredClone(input);
  } catch {
    throw new ConfigError(source, [{ path: '/', message: 'must be plain JSON data' }]);
  }
  if (!validateSchema(data)) throw new ConfigError(source, (validateSchema.errors ?? []).map(describeSchemaError));
  const config = data as RouterConfig;
  const problems = semanticProblems(config);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return config;
}

/**
 * Checks `input` and returns a copy with every default filled in; `input` itself is not modified.
 * Throws ConfigError listing every problem found. Semantic checks run only once the schema passes.
 */
export function validateConfig(input: unknown): RouterConfig {
  return validate(input, 'config');
}

/** Reads a JSON config file and validates it; any failure is a ConfigError naming the file. */
export function loadConfigFile(path: string): RouterConfig {
  const source = `config file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    throw new ConfigError(source, [{ path: '/', message: `cannot read: ${(err as Error).message}` }]);
  }
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new ConfigError(source, parsed.errors.map((message) => ({ path: '/', message })));
  try {
    return validate(parsed.data, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(source, err.problems.map((problem) => withPosition(problem, text)));
  }
}

/** Adds "(line L column C)" of the offending value, or of its nearest existing parent. */
function withPosition(problem: ConfigProblem, text: string): ConfigProblem {
  for (let path = problem.path; ; path = path.slice(0, path.lastIndexOf('/'))) {
    const at = locate(text, path === '' ? '/' : path);
    if (at !== undefined) return { path: problem.path, message: `${problem.message} (line ${at.line} column ${at.column})` };
    if (path === '' || path === '/') return problem;
  }
}
