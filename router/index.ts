/**
 * Switchyard as a library: `import { createRouter } from 'switchyard-wamp'`.
 *
 * `createRouter(config, options)` validates `config` with the same schema as `router.config.json`
 * (defaults filled in, every problem reported as a ConfigError), then builds the router. Open its
 * configured listeners with `listen()`, or serve WAMP on the application's own http/https server
 * with `attach(server, {path})`; `session(realm, {authid, authrole})` opens an in-process session;
 * `close()` ends everything gracefully.
 */
import { validateConfig, type RouterConfig } from './config.js';
import { createRouter as createRouterFromValidated, type Router, type RouterOptions } from './server.js';

export function createRouter(config: RouterConfig | Record<string, unknown>, options: RouterOptions = {}): Router {
  return createRouterFromValidated(validateConfig(config), options);
}

export type { Router, RouterOptions, RouterStats, ListeningAddress } from './server.js';
export {
  ConfigError, loadConfigFile, validateConfig, DEFAULT_CONFIG_PATH,
  type RouterConfig, type RealmConfig, type RoleConfig, type PermissionConfig, type ListenerConfig, type AuthConfig,
  type AuthorizerConfig, type ConfigProblem,
} from './config.js';
export type { AttachOptions } from './transport/attach.js';
export {
  Result, type InProcessSession, type InProcessIdentity, type CallOutcome, type ProcedureHandler, type EventHandler,
} from './inprocess.js';
export {
  welcome, deny, type Authenticator, type HelloContext, type HelloOutcome, type Identity, type Welcome, type Deny,
  type ChallengeStep,
} from '../auth/authenticator.js';
export type { Authorizer, AppAuthorizer, Principal } from '../realms/authorizer.js';
export type { Action, Decision } from '../realms/permissions.js';
export { createLogger, silentLogger, type Logger, type LogLevel, type LogFields } from './log.js';
export { WampError, ErrorUri, CloseUri } from './protocol/errors.js';
export type { Dict } from './protocol/messages.js';
