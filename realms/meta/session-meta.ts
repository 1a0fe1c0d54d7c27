import { parseReceiverFilter } from '../../router/broker.js';
import type { Dealer } from '../../router/dealer.js';
import { isDict } from '../../router/protocol/decode.js';
import { CloseUri, ErrorUri, WampError } from '../../router/protocol/errors.js';
import type { Dict } from '../../router/protocol/messages.js';
import { isValidId } from '../../router/protocol/ids.js';
import { isReservedUri, isValidUri } from '../../router/protocol/uri.js';
import type { Session } from '../../router/session.js';
import type { Realm } from '../realm.js';
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

/**
 * The details `wamp.session.get` and `wamp.session.on_join` give of a session: who it is, always;
 * its authextra (e.g. a user's configured `extra`) and its transport (type, protocol, peer address)
 * only where `shown` says, so granting the meta API to a monitor does not hand out every user's
 * extra and address (issue 13.6).
 */
export function sessionDetails(session: Session, shown: SessionDetailsShown): Dict {
  const details: Dict = {
    session: session.id, authid: session.authid, authrole: session.authrole, authmethod: session.authmethod,
    authprovider: session.authprovider, realm: session.realm?.name,
  };
  if (shown.authextra) details.authextra = session.authextra;
  if (shown.transport) {
    const info = session.transport.info;
    details.transport = { type: info.type, protocol: info.protocol, peer: info.peer };
  }
  return details;
}

/** A small number per combination of `SessionDetailsShown`, to group on_join receivers. */
function shownKey(shown: SessionDetailsShown): number {
  return (shown.authextra ? 1 : 0) | (shown.transport ? 2 : 0);
}

const ON_JOIN = 'wamp.session.on_join';

export class SessionMeta {
  private readonly testaments = new Map<Session, Testament[]>();
  /** Sessions ended by kill_all: they leave without testaments or on_leave. */
  private readonly silenced = new Set<Session>();

  constructor(private readonly realm: Realm, dealer: Dealer) {
    const provide = (name: string, handler: (caller: Session, args: unknown[], kwargs: Dict) => unknown) =>
      provideValue(dealer, `wamp.session.${name}`, (caller, args, kwargs) => handler(caller as Session, args, kwargs));
    provide('count', (_c, args) => this.select(args[0]).length);
    provide('list', (_c, args) => this.select(args[0]).map((s) => s.id));
    provide('get', (caller, args) => sessionDetails(this.find(args[0]), realm.detailsShownTo(caller.authrole)));
    provide('kill', (caller, args, kwargs) => {
      const target = this.find(args[0]);
      if (target === caller) throw new WampError(ErrorUri.noSuchSession, 'a session cannot kill itself');
      this.kill([target], kwargs);
      return null;
    });
    provide('kill_by_authid', (caller, args, kwargs) =>
      this.kill(this.others(caller, (s) => s.authid === requireString(args[0], 'authid')), kwargs));
    provide('kill_by_authrole', (caller, args, kwargs) =>
      this.kill(this.others(caller, (s) => s.authrole === requireString(args[0], 'authrole')), kwargs).length);
    // kill_all clears the realm without a storm of meta and testament events (wamp-spec §10.1).
    provide('kill_all', (caller, _args, kwargs) => this.kill(this.others(caller, () => true), kwargs, true).length);
    provide('add_testament', (caller, args, kwargs) => this.addTestament(caller, args, kwargs));
    provide('flush_testaments', (caller, args, kwargs) => this.flushTestaments(caller, kwargs.scope ?? args[0]));
  }

  /** on_join: each receiver gets the details its own role may see of the new session (one publication per kind of receiver). */
  joined(session: Session): void {
    const kinds = new Map<number, SessionDetailsShown>();
    for (const subscription of this.realm.broker.matchSubscriptions(ON_JOIN)) {
      for (const receiver of subscription.subscribers) {
        const shown = this.realm.detailsShownTo(receiver.authrole);
        kinds.set(shownKey(shown), shown);
      }
    }
    for (const [key, shown] of kinds) {
      const audience = (receiver: Session) => shownKey(this.realm.detailsShownTo(receiver.authrole)) === key;
      this.realm.broker.publishInternal(ON_JOIN, [sessionDetails(session, shown)], undefined, session, audience);
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
        this.realm.broker.publishInternal(t.topic, t.args, t.kwargs, undefined, filter);
      }
    }
    this.realm.broker.publishInternal('wamp.session.on_leave', [session.id, session.authid, session.authrole]);
  }

  private select(filter: unknown): Session[] {
    const sessions = [...this.realm.sessions.values()];
    if (filter === undefined || filter === null) return sessions;
    if (!Array.isArray(filter) || !filter.every((r) => typeof r === 'string')) {
      throw new WampError(ErrorUri.invalidArgument, 'filter_authroles must be a list of strings');
    }
    return sessions.filter((s) => filter.includes(s.authrole));
  }

  private find(id: unknown): Session {
    const session = isValidId(id) ? this.realm.sessions.get(id) : undefined;
    if (!session) throw new WampError(ErrorUri.noSuchSession, 'no such session');
    return session;
  }

  private others(caller: Session, predicate: (s: Session) => boolean): Session[] {
    return [...this.realm.sessions.values()].filter((s) => s !== caller && predicate(s));
  }

  /** GOODBYE with `reason` (default `wamp.close.killed`) and an optional message. */
  private kill(targets: Session[], kwargs: Dict, silently = false): number[] {
    const reason = kwargs.reason ?? CloseUri.killed;
    if (!isValidUri(reason)) throw new WampError(ErrorUri.invalidUri, 'invalid reason URI');
    const message = typeof kwargs.message === 'string' ? kwargs.message : undefined;
    const ids = targets.map((s) => s.id);
    for (const target of targets) {
      if (silently) this.silenced.add(target);
      target.goodbye(reason, message);
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

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new WampError(ErrorUri.invalidArgument, `${name} must be a string`);
  return value;
}
