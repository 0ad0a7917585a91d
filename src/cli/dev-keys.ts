// The keys oms dev prints at start: an admin key and the key of a first account ("demo", with
// cash in it), so that the quick start is two commands and the README's examples work as they
// are. They are kept in a 0600 file in the data directory (the store has only their hashes), so
// a restart prints the same keys; if either was revoked, or the file is gone, fresh ones are issued.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { bearerOf, type KeyScope } from "../auth/api-key.ts";
import { issueStoredKey } from "../auth/issue-stored-key.ts";
import type { KeyRing } from "../auth/key-ring.ts";
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { createClientTransport } from "../rpc/transport.ts";

export const DEV_KEYS_FILE = "dev-keys.json";
export const DEV_ACCOUNT_ID = "demo";
/** What the first account starts with, so that the README's orders can be placed at once. */
const DEV_DEPOSIT_DOLLARS = "100000";

export interface DevKeys {
  /** "ID:SECRET" of the admin key. */
  admin: string;
  /** "ID:SECRET" of the first account's key. */
  account: string;
  accountId: string;
}

export async function devKeys(dataDir: string, keys: KeyRing, balancerUrl: string): Promise<DevKeys> {
  const file = join(dataDir, DEV_KEYS_FILE);
  const kept = keptKeys(file);
  const live = new Set((await keys.store.list()).filter((record) => record.revokedAtMs === null).map((record) => record.keyId));
  const isLive = (bearer: string | undefined) => bearer !== undefined && live.has(bearer.split(":", 1)[0] ?? "");
  const admin = isLive(kept?.admin) ? (kept?.admin as string) : await issue(keys, { kind: "admin" }, "oms dev: admin");
  let account = kept?.account;
  if (!isLive(account) || kept?.accountId !== DEV_ACCOUNT_ID) {
    await openDevAccount(balancerUrl, admin);
    account = await issue(keys, { kind: "account", accountId: DEV_ACCOUNT_ID }, "oms dev: first account");
  }
  const devKeys: DevKeys = { admin, account: account as string, accountId: DEV_ACCOUNT_ID };
  // Owner-only: the file holds secrets.
  writeFileSync(file, JSON.stringify(devKeys, null, 2) + "\n", { mode: 0o600 });
  await keys.refresh();
  return devKeys;
}

function keptKeys(file: string): Partial<DevKeys> | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Partial<DevKeys>;
  } catch {
    // A damaged file costs only fresh keys.
    return null;
  }
}

async function issue(keys: KeyRing, scope: KeyScope, label: string): Promise<string> {
  const issued = await issueStoredKey(keys.store, scope, label, Date.now());
  await keys.refresh();
  return bearerOf(issued.record.keyId, issued.secret);
}

/** Creates the account and funds it; an account that exists already (a restart) is left as it is. */
async function openDevAccount(balancerUrl: string, admin: string): Promise<void> {
  const accounts = createClient(AccountService, createClientTransport(balancerUrl, "connect", { apiKey: admin }));
  try {
    await accounts.createAccount({ accountId: DEV_ACCOUNT_ID });
  } catch (error) {
    if (ConnectError.from(error).code === Code.AlreadyExists) return;
    throw error;
  }
  await accounts.deposit({ accountId: DEV_ACCOUNT_ID, amount: DEV_DEPOSIT_DOLLARS });
}
