// The one place where the fuzzer builds the headers that say who is calling. Every request the
// fuzzer sends, good or bad, takes its identity from here, so the API key that the balancer
// requires goes in once; a case that fuzzes the key itself passes its own (missing, malformed or
// another account's) instead of the cluster's.

/** An API key as the balancer takes it: `Authorization: Bearer ID:SECRET`. */
export interface ApiKey {
  id: string;
  secret: string;
}

/** The caller's identity headers for `key`; none for a call that sends no key. */
export function callerHeaders(key: ApiKey | undefined): Record<string, string> {
  if (key === undefined) return {};
  return { authorization: `Bearer ${key.id}:${key.secret}` };
}
