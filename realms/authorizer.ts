import type { Action, Decision, RolePermissions } from './permissions.js';

/** The session facts an authorization decision may depend on. */
export interface Principal {
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;
}

/**
 * Decides whether a principal may perform an action on a concrete URI. Called before every
 * routed action and, for pattern subscriptions, again at delivery.
 */
export interface Authorizer {
  decide(principal: Principal, uri: string, action: Action): Decision;
}

const DENY: Decision = Object.freeze({ allow: false, disclose: false });

/**
 * Static authorization from the realm's configured roles; an unknown role is denied everything.
 * Roles are read through a function so a config reload takes effect on the next decision.
 */
export class RoleAuthorizer implements Authorizer {
  constructor(private readonly roles: () => ReadonlyMap<string, RolePermissions>) {}

  decide(principal: Principal, uri: string, action: Action): Decision {
    return this.roles().get(principal.authrole)?.decide(uri, action) ?? DENY;
  }
}
