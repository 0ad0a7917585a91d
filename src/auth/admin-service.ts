// AdminService: issue, revoke and list API keys against the key store. Served by connect-es
// on every protocol, behind the auth interceptor (every method needs an admin key). After a
// change the balancer reloads its keys at once; the others see it at their next poll.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { accountIdProblem } from "../core/account-id.ts";
import { AdminService, ApiKeySchema, type ApiKey } from "../gen/oms/v1/admin_service_pb.ts";
import { bearerOf, KEY_LABEL_CHARS_MAX, type ApiKeyRecord, type KeyScope } from "./api-key.ts";
import { issueStoredKey } from "./issue-stored-key.ts";
import type { KeyRing } from "./key-ring.ts";

export function adminServiceRoutes(keys: KeyRing, interceptors: Interceptor[], nowMs: () => number = Date.now): (router: ConnectRouter) => void {
  return (router) => {
    router.service(AdminService, {
      issueApiKey: async (request) => {
        const scope = scopeOf(request.admin, request.accountId);
        if ([...request.label].length > KEY_LABEL_CHARS_MAX) throw new ConnectError(`label: at most ${KEY_LABEL_CHARS_MAX} characters`, Code.InvalidArgument);
        const issued = await issueStoredKey(keys.store, scope, request.label, nowMs());
        await keys.refresh();
        return { key: apiKeyOf(issued.record), secret: issued.secret, bearer: bearerOf(issued.record.keyId, issued.secret) };
      },
      revokeApiKey: async (request) => {
        if (request.keyId === "") throw new ConnectError("key_id: is required", Code.InvalidArgument);
        const revoked = await keys.store.revoke(request.keyId, nowMs());
        if (revoked === null) throw new ConnectError(`key_id: no key ${request.keyId}`, Code.NotFound);
        await keys.refresh();
        return { key: apiKeyOf(revoked) };
      },
      listApiKeys: async (request) => {
        const records = await keys.store.list();
        const chosen = request.accountId === "" ? records : records.filter((record) => record.scope.kind === "account" && record.scope.accountId === request.accountId);
        return { keys: chosen.map(apiKeyOf) };
      },
    }, { interceptors });
  };
}

function scopeOf(admin: boolean, accountId: string): KeyScope {
  if (admin) {
    if (accountId !== "") throw new ConnectError("account_id: must be empty for an admin key", Code.InvalidArgument);
    return { kind: "admin" };
  }
  const problem = accountIdProblem(accountId);
  if (problem !== null) throw new ConnectError(`${problem.message} (or admin: true)`, Code.InvalidArgument);
  return { kind: "account", accountId };
}

/** A key as the API shows it: never its hash. */
export function apiKeyOf(record: ApiKeyRecord): ApiKey {
  return create(ApiKeySchema, {
    keyId: record.keyId,
    accountId: record.scope.kind === "account" ? record.scope.accountId : "",
    admin: record.scope.kind === "admin",
    label: record.label,
    createdAtMs: BigInt(record.createdAtMs),
    revokedAtMs: BigInt(record.revokedAtMs ?? 0),
  });
}
