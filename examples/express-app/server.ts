/**
 * Example: an Express app that serves a page and WAMP on the same port.
 *
 * - Express serves `public/index.html` and the autobahn-js browser build at `/vendor/autobahn.min.js`.
 * - Switchyard is attached to the same http server on `/ws` (`router.attach`).
 * - Browsers log in with WAMP-CRA (users from the config) or with a ticket checked against the
 *   application's own user store by a code-level authenticator.
 * - Backend code joins as an in-process session (`router.session`): it registers `app.add` and
 *   relays `app.chat` events.
 *
 * Run: `npm run build && node dist/examples/express-app/server.js` (PORT, default 8080).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import {
  createRouter, deny, welcome, type AppAuthorizer, type Authenticator, type InProcessSession, type Logger, type Router,
} from 'switchyard-wamp';

export interface AppOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /** The application's own user store for ticket logins: authid → password. */
  users?: Record<string, string>;
  /** WAMP-CRA secrets (in a real app: from the environment or a secret store). */
  craUsers?: Record<string, string>;
}

export interface App {
  url: string;
  wsUrl: string;
  port: number;
  router: Router;
  server: Server;
  backend: InProcessSession;
  close(): Promise<void>;
}

export const REALM = 'app.realm';

const here = dirname(fileURLToPath(import.meta.url));
/** `public/` next to this file, or (compiled to dist/examples/express-app) in the source tree. */
const publicDir = existsSync(join(here, 'public')) ? join(here, 'public') : resolve(here, '../../../examples/express-app/public');
const autobahnBrowser = resolve(here, existsSync(join(here, 'public')) ? '../..' : '../../..', 'node_modules/autobahn-browser');

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A code-level authenticator: WAMP ticket checked against the application's own user store. */
function appUserAuthenticator(users: Record<string, string>): Authenticator {
  return {
    authmethod: 'ticket',
    hello: (context) => ({
      outcome: 'challenge',
      authmethod: 'ticket',
      extra: {},
      verify: (ticket) => {
        const authid = context.authid ?? '';
        const known = Object.hasOwn(users, authid) ? users[authid]! : undefined;
        // Compare digests so the comparison takes the same time whatever the lengths.
        const ok = known !== undefined && timingSafeEqual(sha256(known), sha256(String(ticket)));
        return ok
          ? welcome({ authid, authrole: 'frontend', authmethod: 'ticket', authprovider: 'app-users' })
          : deny('wamp.error.not_authorized', 'authentication failed');
      },
    }),
  };
}

/** A code-level authorizer in front of the static rules: only the backend may publish on app.admin. */
const appAuthorizer: AppAuthorizer = {
  decide: (principal, uri, action) => {
    if (action === 'publish' && uri.startsWith('app.admin.') && principal.authrole !== 'backend') return { allow: false };
    return undefined; // no opinion: the role's static rules decide
  },
};

const APP_PERMISSIONS = [{ uri: 'app.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }];

export async function startApp(options: AppOptions = {}): Promise<App> {
  const craUsers = options.craUsers ?? { alice: 'alice-secret' };
  const router = createRouter({
    listeners: [],
    realms: [{
      name: REALM,
      roles: [
        { name: 'frontend', permissions: APP_PERMISSIONS },
        { name: 'backend', permissions: APP_PERMISSIONS },
      ],
      auth: {
        wampcra: { users: Object.fromEntries(Object.entries(craUsers).map(([id, secret]) => [id, { secret, role: 'frontend' }])) },
      },
    }],
  }, {
    ...(options.logger ? { logger: options.logger } : {}),
    authenticators: { [REALM]: [appUserAuthenticator(options.users ?? { carol: 'carol-password' })] },
    authorizers: { [REALM]: appAuthorizer },
  });

  const app = express();
  app.use('/vendor', express.static(autobahnBrowser, { index: false }));
  app.use(express.static(publicDir));
  app.get('/api/hello', (_req, res) => { res.json({ hello: 'from express' }); });

  const server = createServer(app);
  router.attach(server, { path: '/ws' });

  const backend = await router.session(REALM, { authid: 'backend', authrole: 'backend' });
  await backend.register('app.add', (args) => (args[0] as number) + (args[1] as number));
  await backend.subscribe('app.chat', (args, _kwargs, details) => {
    // Relay chat lines as notices (in-process publish).
    void backend.publish('app.notice', [`${String(details.publisher_authid ?? 'someone')}: ${String(args[0])}`]).catch(() => {});
  }, {});

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => { server.off('error', fail); done(); });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host}:${port}/`, wsUrl: `ws://${host}:${port}/ws`, port, router, server, backend,
    async close() {
      await router.close();
      await new Promise<void>((done) => { server.close(() => done()); server.closeAllConnections(); });
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const app = await startApp({ port: Number(process.env.PORT ?? 8080) });
  process.stdout.write(`listening on ${app.url} (WAMP on ${app.wsUrl})\n`);
  const stop = () => { void app.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
