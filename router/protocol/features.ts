/**
 * The router roles and features announced in WELCOME (wamp-spec §5). A flag appears here only
 * once the feature works and has a test: autobahn-js and Autobahn|Python branch on these flags,
 * so announcing a feature that does not work is a bug. The README's feature table is checked
 * against this file by a test.
 */

export const BROKER_FEATURES: Readonly<Record<string, boolean>> = {
  publisher_exclusion: true,
  publisher_identification: true,
  subscriber_blackwhite_listing: true,
  pattern_based_subscription: true,
  subscription_revocation: true,
  event_retention: true,
  session_meta_api: true,
  subscription_meta_api: true,
};

export const DEALER_FEATURES: Readonly<Record<string, boolean>> = {
  caller_identification: true,
  pattern_based_registration: true,
  shared_registration: true,
  progressive_call_results: true,
  progressive_call_invocations: true,
  call_timeout: true,
  call_canceling: true,
  registration_revocation: true,
  session_meta_api: true,
  registration_meta_api: true,
  testament_meta_api: true,
};

export function routerRoles(): Record<string, { features: Record<string, boolean> }> {
  return { broker: { features: { ...BROKER_FEATURES } }, dealer: { features: { ...DEALER_FEATURES } } };
}

/** Client roles a HELLO may announce (wamp-spec §2.2). */
export const CLIENT_ROLES = new Set(['publisher', 'subscriber', 'caller', 'callee']);
