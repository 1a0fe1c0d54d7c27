#!/usr/bin/env node
/**
 * The `switchyard` command. The config is validated completely before any port is opened
 * (reliability.md §2.12 item 24); exit codes: 0 ok, 1 invalid config or failed start, 2 bad usage.
 */

import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile, validateConfig, type RouterConfig } from './config.js';
import { createLogger, type Logger, type LogLevel } from './log.js';
import { createRouter } from './server.js';
import { httpClientCommand } from './http-client.js';
import { DEFAULT_KEYLEN, deriveKey, newSalt, PASSWORD_ITERATIONS } from '../auth/crypto.js';
import { describeFinding, lintConfig } from '../realms/permission-lint.js';

const USAGE = `usage: switchyard [--config FILE] [--check-config] [--port N] [--cluster-nats URL --node ID] [--help]
       switchyard derive-key [--salt SALT] [--iterations N] [--keylen L] [--role ROLE] < secret
       switchyard http-call|http-publish --url URL --key KEYID --realm R URI [JSON_ARGS]
                  (secret from $SWITCHYARD_HTTP_SECRET; see README "HTTP bridge")

Options:
  -c, --config FILE   router config (JSON); default: $SWITCHYARD_CONFIG, else
                      ${DEFAULT_CONFIG_PATH}
      --check-config  validate the config, print "config ok: FILE" or the problems, and exit;
                      permission rules that never decide or that a broader rule overrides
                      are printed as "warning: ..." lines (exit status still 0)
      --port N        listen on port N instead of the config's port (a config with one
                      listener only): several nodes from one config file on one host
      --cluster-nats URL  join the cluster on this NATS server (sets cluster.nats)
      --node ID       this node's id in the cluster (sets cluster.node)
  -h, --help          print this help and exit

Environment:
  SWITCHYARD_CONFIG   config file used when --config is not given

derive-key:
  Reads a WAMP-CRA secret from stdin (one trailing newline is ignored) and prints the
  wampcra user entry to store in the config: the base64 PBKDF2-HMAC-SHA256 key with its
  salt (default: 16 random bytes, base64url), iterations (default 600000, OWASP's figure)
  and keylen (default 32), and the role when given. The secret never appears in
  arguments or shell history:  read -rs S; printf %s "$S" | switchyard derive-key --role R

Signals:
  SIGINT, SIGTERM     graceful shutdown: every session gets GOODBYE wamp.close.system_shutdown;
                      a second signal exits at once with status 1
  SIGHUP              reload the config file: roles, users, realms and listeners' allowedOrigins
                      and requireOrigin change in place; sessions whose user or credential is gone
                      or changed get GOODBYE wamp.close.revoked; changes that need a restart are
                      logged as config.not_applied warnings naming each setting

Exit status: 0 ok, 1 invalid config or failed start, 2 bad usage.
`;

type Options = { config?: string; 'check-config'?: boolean; help?: boolean; port?: string; 'cluster-nats'?: string; node?: string };

function parse(argv: string[]): Options | undefined {
  try {
    return parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        'cluster-nats': { type: 'string' },
        node: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n\n${USAGE}`);
    return undefined;
  }
}

/** The config file with the command line's port and cluster settings laid over it, validated again. */
function loadWithOverrides(path: string, options: Options): RouterConfig {
  const config = loadConfigFile(path);
  const overridden = withCommandLine(config, options);
  if (overridden === config) return config;
  try {
    return validateConfig(overridden);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`config file ${path} with ${overrideFlags(options)}`, err.problems);
  }
}

function withCommandLine(config: RouterConfig, options: Options): RouterConfig {
  let result = config;
  if (options.port !== undefined) result = { ...result, listeners: [{ ...onlyListener(config), port: portNumber(options.port) }] };
  if (options['cluster-nats'] !== undefined || options.node !== undefined) {
    const cluster = { ...config.cluster, ...(options['cluster-nats'] !== undefined ? { nats: options['cluster-nats'] } : {}), ...(options.node !== undefined ? { node: options.node } : {}) };
    result = { ...result, cluster } as RouterConfig;
  }
  return result;
}

/** `--port` is unambiguous only with one listener: which of several would it move? */
function onlyListener(config: RouterConfig): RouterConfig['listeners'][number] {
  if (config.listeners.length !== 1) {
    const message = `--port needs a config with exactly one listener; this one has ${config.listeners.length}: set each listener's "port" in the file instead`;
    throw new ConfigError('command line', [{ path: '/listeners', message }]);
  }
  return config.listeners[0]!;
}

function portNumber(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new ConfigError('command line', [{ path: '--port', message: `${JSON.stringify(text)} is not a port number (0-65535)` }]);
  return port;
}

function overrideFlags(options: Options): string {
  const flags = [options.port !== undefined && '--port', options['cluster-nats'] !== undefined && '--cluster-nats', options.node !== undefined && '--node'];
  return flags.filter(Boolean).join('/');
}

function load(path: string, options: Options): RouterConfig | undefined {
  try {
    return loadWithOverrides(path, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`switchyard: ${err.message}\n`);
    return undefined;
  }
}

/** Starts the router and keeps it up until SIGINT/SIGTERM; a second signal forces exit 1. */
async function run(config: RouterConfig, logger: Logger, path: string, options: Options): Promise<void> {
  const router = createRouter(config, { logger });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.error('shutdown.forced', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutdown', { signal });
    router.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown.failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // SIGHUP: reload; an invalid file is reported and the running config stays.
  process.on('SIGHUP', () => {
    try {
      router.reload(loadWithOverrides(path, options));
      logger.info('config.reloaded', { path });
    } catch (err) {
      logger.error('config.reload_failed', { path, error: err instanceof Error ? err.message : String(err) });
    }
  });
  // One line per URL: a universal listener serves ws://, rs:// and http:// on its one port.
  for (const address of await router.listen()) for (const url of address.urls) logger.info('listening', { url });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** `derive-key`: the stored form of a salted WAMP-CRA user, computed from a secret on stdin. */
async function deriveKeyCommand(argv: string[]): Promise<number> {
  let values: { salt?: string; iterations?: string; keylen?: string; role?: string };
  try {
    values = parseArgs({
      args: argv,
      options: { salt: { type: 'string' }, iterations: { type: 'string' }, keylen: { type: 'string' }, role: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`switchyard derive-key: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const iterations = Number(values.iterations ?? PASSWORD_ITERATIONS);
  const keylen = Number(values.keylen ?? DEFAULT_KEYLEN);
  if (values.salt === '' || !Number.isSafeInteger(iterations) || iterations < 1 || !Number.isSafeInteger(keylen) || keylen < 8 || keylen > 256) {
    process.stderr.write(`switchyard derive-key: --salt must not be empty; --iterations >= 1; 8 <= --keylen <= 256\n\n${USAGE}`);
    return 2;
  }
  const salt = values.salt ?? newSalt();
  if (process.stdin.isTTY) process.stderr.write('secret (then Enter, Ctrl-D): ');
  const secret = await readStdin();
  if (secret.length === 0) {
    process.stderr.write('switchyard derive-key: empty secret on stdin\n');
    return 2;
  }
  const entry: Record<string, unknown> = { key: deriveKey(secret, salt, iterations, keylen), salt, iterations, keylen };
  if (values.role) entry.role = values.role;
  else process.stderr.write('switchyard derive-key: add "role" (or pass --role) before pasting the entry under auth.wampcra.users\n');
  process.stdout.write(JSON.stringify(entry, null, 2) + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number | undefined> {
  if (argv[0] === 'derive-key') return deriveKeyCommand(argv.slice(1));
  if (argv[0] === 'http-call' || argv[0] === 'http-publish') return httpClientCommand(argv[0], argv.slice(1));
  const options = parse(argv);
  if (options === undefined) return 2;
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const path = options.config ?? (process.env.SWITCHYARD_CONFIG || DEFAULT_CONFIG_PATH);
  const config = load(path, options);
  if (config === undefined) return 1;
  if (options['check-config']) {
    process.stdout.write(`config ok: ${path}\n`);
    // Rules that never decide or that a broader rule overrides are warnings: the config still runs.
    for (const finding of lintConfig(config)) process.stdout.write(`warning: ${describeFinding(finding)}\n`);
    return 0;
  }
  // SWITCHYARD_LOG_LEVEL (debug | info | warn | error | silent) overrides the config's log.level.
  const envLevel = process.env.SWITCHYARD_LOG_LEVEL;
  const level = envLevel && ['debug', 'info', 'warn', 'error', 'silent'].includes(envLevel) ? envLevel as LogLevel : config.log.level;
  await run(config, createLogger({ level }), path, options);
  return undefined; // keep serving until a signal arrives
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`switchyard: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
