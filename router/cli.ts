#!/usr/bin/env node
/**
 * The `switchyard` command. The config is validated completely before any port is opened
 * (reliability.md §2.12 item 24); exit codes: 0 ok, 1 invalid config or failed start, 2 bad usage.
 */

import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile, type RouterConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { createRouter } from './server.js';

const USAGE = `usage: switchyard [--config FILE] [--check-config] [--help]

Options:
  -c, --config FILE   router config (JSON); default: $SWITCHYARD_CONFIG, else
                      ${DEFAULT_CONFIG_PATH}
      --check-config  validate the config, print "config ok: FILE" or the problems, and exit
  -h, --help          print this help and exit

Environment:
  SWITCHYARD_CONFIG   config file used when --config is not given

Signals:
  SIGINT, SIGTERM     graceful shutdown: every session gets GOODBYE wamp.close.system_shutdown;
                      a second signal exits at once with status 1

Exit status: 0 ok, 1 invalid config or failed start, 2 bad usage.
`;

type Options = { config?: string; 'check-config'?: boolean; help?: boolean };

function parse(argv: string[]): Options | undefined {
  try {
    return parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n\n${USAGE}`);
    return undefined;
  }
}

function load(path: string): RouterConfig | undefined {
  try {
    return loadConfigFile(path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`switchyard: ${err.message}\n`);
    return undefined;
  }
}

function listenerUrl(address: { host: string; port: number; path: string }): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `ws://${host}:${address.port}${address.path}`;
}

/** Starts the router and keeps it up until SIGINT/SIGTERM; a second signal forces exit 1. */
async function run(config: RouterConfig, logger: Logger): Promise<void> {
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
  for (const address of await router.listen()) logger.info('listening', { url: listenerUrl(address) });
}

async function main(argv: string[]): Promise<number | undefined> {
  const options = parse(argv);
  if (options === undefined) return 2;
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const path = options.config ?? (process.env.SWITCHYARD_CONFIG || DEFAULT_CONFIG_PATH);
  const config = load(path);
  if (config === undefined) return 1;
  if (options['check-config']) {
    process.stdout.write(`config ok: ${path}\n`);
    return 0;
  }
  await run(config, createLogger({ level: config.log.level }));
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
