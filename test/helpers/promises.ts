import { expect } from 'chai';
import { withTimeout } from './wait.js';

/**
 * Assertions on client promises. autobahn-js returns when.js promises (thenables, not native
 * Promises), so each value is wrapped with Promise.resolve and bounded by a timeout.
 */

/** The rejection value of a promise that must reject; fails if it resolves or hangs. */
export async function rejection(promise: unknown, ms = 3000, what = 'rejection'): Promise<any> {
  expect(typeof (promise as { then?: unknown } | undefined)?.then, `${what}: a promise`).to.equal('function');
  try {
    const value = await withTimeout(Promise.resolve(promise), ms, what);
    throw new Error(`expected a rejection (${what}), got ${JSON.stringify(value)}`);
  } catch (error) {
    if (error instanceof Error && /^(expected a rejection|timed out)/.test(error.message)) throw error;
    return error;
  }
}

/** The promise must reject with a WAMP error carrying `uri`; resolves with the error. */
export async function expectError(promise: unknown, uri: string, what: string): Promise<any> {
  const error = await rejection(promise, 3000, what);
  expect(error?.error, `${what}: error URI (got ${String(error?.error ?? error)})`).to.equal(uri);
  return error;
}

/** The promise's value, within `ms`. */
export const within = <T = any>(promise: unknown, what: string, ms = 3000): Promise<T> =>
  withTimeout(Promise.resolve(promise as Promise<T>), ms, what);
