import type { Authorizer, RefusalReporter } from '../../router/authorization.js';
import { parseReceiverFilter, receiverFilterOptions, type Broker, type Subscription } from '../../router/broker.js';
import type { Dealer } from '../../router/dealer.js';
import { isDict } from '../../router/protocol/decode.js';
import { CloseUri, ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isValidId } from '../../router/protocol/ids.js';
import { isReservedUri, isValidUri } from '../../router/protocol/uri.js';
import type { Session } from '../../router/session.js';
import { provideValue } from './provide.js';

/**
 * Session meta API (wamp-spec §10.1) and testaments (§7.7): `wamp.session.*` procedures, the
 * `on_join` / `on_leave` events, and the PUBLISHes a session leaves behind for its departure.
 */

interface Testament {
  topic: string;
  args: unknown[];
  kwargs: Dict;
  options: Dict;
  scope: 'destroyed' | 'detached';
}

const SCOPES = new Set(['destroyed', 'detached']);

/** Which details of other sessions the session meta API shows a role (its config's `meta` setting). */
export interface SessionDetailsShown {
  authextra: boolean;
  transport: boolean;
}

/** Everything the session meta API may tell of a session; plain data, so other nodes can send it. */
export interface SessionInfo {
  session: number;
  authid: string;
  authrole: string;
  authmethod: string;
  authprovider: string;
  realm: string | undefined;
  authextra: unknown;
  transport: { type: string; protocol: string | undefined; peer: string | undefined };
}

export function sessionInfo(session: Session): SessionInfo {
  const info = session.transport.info;
  return {
    session: session.id, authid: session.authid, authrole: session.authrole, authmethod: session.authmethod,
    authprovider: session.authprovider, realm: session.realm?.name, authextra: session.authextra,
    transport: { type: info.type, protocol: info.protocol, peer: info.peer },
  };
}

/**
 * The details `wamp.session.get` and `wamp.session.on_join` give of a session: who it is, always;
 * its authextra (e.g. a user's configured `extra`) and its transport (type, protocol, peer address)
 * only where `shown` says, so granting the meta API to a monitor does not hand out every user's
 * extra and address (issue 13.6).
 */
export function shownDetails(info: SessionInfo, shown: SessionDetailsShown): Dict {
  const details: Dict = {
    session: info.session, authid: info.authid, authrole: info.authrole, authmethod: info.authmethod,
    authprovider: info.authprovider, realm: info.realm,
  };
  if (shown.authextra) details.authextra = info.authextra;
  if (shown.transport) details.transport = info.transport;
  return details;
}

export function sessionDetails(session: Session, shown: SessionDetailsShown): Dict {
  return shownDetails(sessionInfo(session), shown);
}

/** A question one node's session meta API asks the others (cluster), answered from their own sessions. */
export type MetaRequest =
  | { op: 'select'; authroles: string[] | undefined }
  | { op: 'get'; session: number }
  | { op: 'kill'; target: KillTarget; except: number; reason: string; message: string | undefined; silently: boolean };

export type KillTarget = { session: number } | { authid: string } | { authrole: string } | { all: true };

export interface MetaAnswer {
  sessions?: SessionInfo[];
  killed?: number[];
}

/** The rest of the cluster, as the session meta API sees it (router/cluster/meta-link.ts); absent on one node. */
export interface SessionMetaRemote {
  /** Every other live node's answer that arrived in time (a missing one makes the answer partial). */
  ask(request: MetaRequest): Promise<MetaAnswer[]>;
  /** Tells the other nodes a session joined here (their on_join subscribers see it with their role's details). */
  joined(info: SessionInfo): void;
}

/** A small number per combination of `SessionDetailsShown`, to group on_join receivers. */
function shownKey(shown: SessionDetailsShown): number {
  return (shown.authextra ? 1 : 0) | (shown.transport ? 2 : 0);
}

const ON_JOIN = 'wamp.session.on_join';
const ON_LEAVE = 'wamp.session.on_leave';

/**
 * What the session meta API needs of its realm (realms/realm.ts implements it): declared here,
 * because the realm builds this module and a module does not import the one that builds it.
 */
export interface MetaRealm {
  readonly sessions: ReadonlyMap<number, Session>;
  readonly broker: Broker;
  /** Asked whether a testament may be published, as PUBLISH would ask. */
  readonly decider: Authorizer;
  readonly refusals: RefusalReporter;
  /** What the session meta API shows `authrole` of other sessions. */
  detailsShownTo(authrole: string): SessionDetailsShown;
}

export class SessionMeta {
  private readonly testaments = new Map<Session, Testament[]>();
  /** Sessions ended by kill_all: they leave without testaments or on_leave. */
  private readonly silenced = new Set<Session>();
  /** Set when the realm is served by several nodes: questions about sessions go to all of them. */
  remote: SessionMetaRemote | undefined;

  constructor(private readonly realm: MetaRealm, dealer: Dealer) {
    const provide = (name: string, handler: (caller: Session, args: unknown[], kwargs: Dict) => unknown) =>
      provideValue(dealer, `wamp.session.${name}`, (caller, args, kwargs) => handler(caller as Session, args, kwargs));
    provide('count', async (_c, args) => (await this.selectEverywhere(args[0])).length);
    provide('list', async (_c, args) => (await this.selectEverywhere(args[0])).map((s) => s.session));
    provide('get', async (caller, args) => shownDetails(await this.findEverywhere(args[0]), realm.detailsShownTo(caller.authrole)));
    provide('kill', async (caller, args, kwargs) => {
      if (!isValidId(args[0])) throw new WampError(ErrorUri.noSuchSession, 'no such session');
      if (args[0] === caller.id) throw new WampError(ErrorUri.noSuchSession, 'a session cannot kill itself');
      const killed = await this.killEverywhere(caller, { session: args[0] }, kwargs);
      if (killed.length === 0) throw new WampError(ErrorUri.noSuchSession, 'no such session');
      return null;
    });
    provide('kill_by_authid', (caller, args, kwargs) => this.killEverywhere(caller, { authid: requireString(args[0], 'authid') }, kwargs));
    provide('kill_by_authrole', async (caller, args, kwargs) =>
      (await this.killEverywhere(caller, { authrole: requireString(args[0], 'authrole') }, kwargs)).length);
    // kill_all clears the realm without a storm of meta and testament events (wamp-spec §10.1).
    provide('kill_all', async (caller, _args, kwargs) => (await this.killEverywhere(caller, { all: true }, kwargs, true)).length);
    provide('add_testament', (caller, args, kwargs) => this.addTestament(caller, args, kwargs));
    provide('flush_testaments', (caller, args, kwargs) => this.flushTestaments(caller, kwargs.scope ?? args[0]));
  }

  /** What this node answers to another node's question (router/cluster/meta-link.ts). */
  answer(request: MetaRequest): MetaAnswer {
    switch (request.op) {
      case 'select':
        return { sessions: this.select(request.authroles).map(sessionInfo) };
      case 'get': {
        const session = this.realm.sessions.get(request.session);
        return { sessions: session ? [sessionInfo(session)] : [] };
      }
      case 'kill':
        return { killed: this.kill(this.targets(request.target, request.except), { reason: request.reason, message: request.message }, request.silently) };
    }
  }

  private async selectEverywhere(filter: unknown): Promise<SessionInfo[]> {
    const authroles = parseAuthroles(filter);
    const local = this.select(authroles).map(sessionInfo);
    if (!this.remote) return local;
    const answers = await this.remote.ask({ op: 'select', authroles });
    return [...local, ...answers.flatMap((a) => a.sessions ?? [])];
  }

  private async findEverywhere(id: unknown): Promise<SessionInfo> {
    const local = isValidId(id) ? this.realm.sessions.get(id) : undefined;
    if (local) return sessionInfo(local);
    if (this.remote && isValidId(id)) {
      const found = (await this.remote.ask({ op: 'get', session: id })).flatMap((a) => a.sessions ?? [])[0];
      if (found) return found;
    }
    throw new WampError(ErrorUri.noSuchSession, 'no such session');
  }

  /** GOODBYE to the matching sessions on every node, the caller excepted; the ids of those ended. */
  private async killEverywhere(caller: Session, target: KillTarget, kwargs: Dict, silently = false): Promise<number[]> {
    const reason = kwargs.reason ?? CloseUri.killed;
    if (!isValidUri(reason)) throw new WampError(ErrorUri.invalidUri, 'invalid reason URI');
    const message = typeof kwargs.message === 'string' ? kwargs.message : undefined;
    const killed = this.kill(this.targets(target, caller.id), { reason, message }, silently);
    if (!this.remote) return killed;
    const answers = await this.remote.ask({ op: 'kill', target, except: caller.id, reason, message, silently });
    return [...killed, ...answers.flatMap((a) => a.killed ?? [])];
  }

  private targets(target: KillTarget, except: number): Session[] {
    const matches = (s: Session) =>
      'session' in target ? s.id === target.session
        : 'authid' in target ? s.authid === target.authid
          : 'authrole' in target ? s.authrole === target.authrole : true;
    return [...this.realm.sessions.values()].filter((s) => s.id !== except && matches(s));
  }

  /** on_join: each receiver gets the details its own role may see of the new session (one publication per kind of receiver). */
  joined(session: Session): void {
    const subscriptions = this.realm.broker.matchSubscriptions(ON_JOIN);
    // Nobody to tell (no subscriber here, no other node): no event is built (issue 16).
    if (subscriptions.length === 0 && !this.remote) return;
    const info = sessionInfo(session);
    this.announceJoin(info, session, subscriptions);
    this.remote?.joined(info);
  }

  /** A session that joined on another node: announced to this node's on_join subscribers. */
  joinedElsewhere(info: SessionInfo): void {
    this.announceJoin(info, undefined, this.realm.broker.matchSubscriptions(ON_JOIN));
  }

  private announceJoin(info: SessionInfo, exclude: Session | undefined, subscriptions: readonly Subscription[]): void {
    const kinds = new Map<number, SessionDetailsShown>();
    for (const subscription of subscriptions) {
      for (const receiver of subscription.subscribers) {
        const shown = this.realm.detailsShownTo(receiver.authrole);
        kinds.set(shownKey(shown), shown);
      }
    }
    for (const [key, shown] of kinds) {
      const audience = (receiver: Session) => shownKey(this.realm.detailsShownTo(receiver.authrole)) === key;
      this.realm.broker.publishInternal(ON_JOIN, [shownDetails(info, shown)], undefined, exclude, audience);
    }
  }

  /** On leave: the session's testaments (detached before destroyed, in insertion order), then on_leave. */
  left(session: Session): void {
    const testaments = this.testaments.get(session) ?? [];
    this.testaments.delete(session);
    if (this.silenced.delete(session)) return;
    for (const scope of ['detached', 'destroyed'] as const) {
      for (const t of testaments.filter((x) => x.scope === scope)) {
        const filter = parseReceiverFilter(t.options) ?? (() => true);
        // Testaments and on_leave reach other nodes too; their filter is plain options there.
        this.realm.broker.publishInternal(t.topic, t.args, t.kwargs, undefined, filter, receiverFilterOptions(t.options));
      }
    }
    // Nobody to tell (no subscriber here, no other node): no event is built (issue 16).
    if (!this.realm.broker.remote && this.realm.broker.matchSubscriptions(ON_LEAVE).length === 0) return;
    this.realm.broker.publishInternal(ON_LEAVE, [session.id, session.authid, session.authrole], undefined, undefined, undefined, {});
  }

  private select(authroles: string[] | undefined): Session[] {
    const sessions = [...this.realm.sessions.values()];
    return authroles === undefined ? sessions : sessions.filter((s) => authroles.includes(s.authrole));
  }

  /** GOODBYE with `reason` and an optional message; returns the ids of the sessions ended. */
  private kill(targets: Session[], how: { reason: string; message: string | undefined }, silently = false): number[] {
    const ids = targets.map((s) => s.id);
    for (const target of targets) {
      if (silently) this.silenced.add(target);
      target.goodbye(how.reason, how.message);
    }
    return ids;
  }

  private async addTestament(caller: Session, args: unknown[], kwargs: Dict): Promise<null> {
    const [topic, tArgs = [], tKwargs = {}, options = {}, scope = 'destroyed'] = [
      args[0] ?? kwargs.topic, args[1] ?? kwargs.args, args[2] ?? kwargs.kwargs, args[3] ?? kwargs.publish_options, args[4] ?? kwargs.scope,
    ];
    if (!isValidUri(topic) || isReservedUri(topic)) throw new WampError(ErrorUri.invalidUri, 'invalid testament topic');
    if (!Array.isArray(tArgs) || !isDict(tKwargs) || !isDict(options)) throw new WampError(ErrorUri.invalidArgument, 'args must be a list, kwargs and publish_options dicts');
    if (typeof scope !== 'string' || !SCOPES.has(scope)) throw new WampError('wamp.error.testament_error', 'scope must be "destroyed" or "detached"');
    const decision = await this.realm.decider.decide(caller, topic, 'publish');
    if (!decision.allow) throw new WampError(ErrorUri.notAuthorized, this.realm.refusals.refused(caller, 'publish', topic, decision, 'testament'));
    const list = this.testaments.get(caller) ?? [];
    list.push({ topic, args: tArgs, kwargs: tKwargs, options, scope: scope as Testament['scope'] });
    this.testaments.set(caller, list);
    return null;
  }

  private flushTestaments(caller: Session, scope: unknown = 'destroyed'): number {
    if (typeof scope !== 'string' || !SCOPES.has(scope)) throw new WampError('wamp.error.testament_error', 'scope must be "destroyed" or "detached"');
    const list = this.testaments.get(caller) ?? [];
    const kept = list.filter((t) => t.scope !== scope);
    this.testaments.set(caller, kept);
    return list.length - kept.length;
  }
}

/** wamp.session.count/list's optional `filter_authroles`. */
function parseAuthroles(filter: unknown): string[] | undefined {
  if (filter === undefined || filter === null) return undefined;
  if (!Array.isArray(filter) || !filter.every((r) => typeof r === 'string')) {
    throw new WampError(ErrorUri.invalidArgument, 'filter_authroles must be a list of strings');
  }
  return filter;
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new WampError(ErrorUri.invalidArgument, `${name} must be a string`);
  return value;
}
