// The one decision every public call passes, on every protocol and path (Connect unary,
// SubmitOrders per order, connect-es's routes through auth-interceptor.ts): may this caller
// call this method for this account? It runs before routing and reads nothing but its inputs,
// so the answer for another account is the same whether that account exists or not.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Caller } from "./key-ring.ts";
import { METHOD_SCOPES } from "./method-scopes.ts";

/** The call may go on, for this account ("" for a method that names none). */
export interface Allowed {
  readonly accountId: string;
  /** The account id was implied by the caller's key: the request must carry it onward. */
  readonly implied: boolean;
}

export const OTHER_ACCOUNT = "account_id: this API key acts for another account";

/**
 * `caller` is the authenticated key, or the UNAUTHENTICATED refusal, which is returned as it is:
 * no key learns anything about a method or account before it has authenticated.
 */
export function authorize(caller: Caller | ConnectError, procedure: string, accountId: string): Allowed | ConnectError {
  if (caller instanceof ConnectError) return caller;
  const scope = METHOD_SCOPES.get(procedure) ?? "admin";
  // An admin key may call every method, on any account; it names the account itself.
  if (caller.scope.kind === "admin") return { accountId, implied: false };
  switch (scope) {
    case "admin":
      return new ConnectError(`${procedure}: needs an admin API key`, Code.PermissionDenied);
    case "market":
      return { accountId, implied: false };
    case "account":
      if (accountId === "") return { accountId: caller.scope.accountId, implied: true };
      if (accountId !== caller.scope.accountId) return new ConnectError(OTHER_ACCOUNT, Code.PermissionDenied);
      return { accountId, implied: false };
  }
}
