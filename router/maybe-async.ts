/**
 * Static authorization answers synchronously and keeps the hot path free of promises; a dynamic
 * authorizer may answer later. These two helpers let one code path serve both.
 */

export type MaybePromise<T> = T | Promise<T>;

/** Apply `fn` now if `value` is ready, else when it settles. */
export function then<T, R>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** Like Promise.all, but synchronous when every value is already there. */
export function all<T>(values: MaybePromise<T>[]): MaybePromise<T[]> {
  return values.some((v) => v instanceof Promise) ? Promise.all(values) : values as T[];
}
