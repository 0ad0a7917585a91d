// `oms admin …`: what needs an admin key: opening accounts, moving cash, blocking trading, and
// issuing, revoking
// and listing API keys. Each prints the server's answer as Connect JSON; issue-key's holds the
// secret, which is shown this once.
import { toJson } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { AdminService } from "../gen/oms/v1/admin_service_pb.ts";
import { clientCommand, missing } from "./client-commands.ts";
import type { CommandSpec, OptionSpec } from "./command-spec.ts";
import { TradingState } from "../gen/oms/v1/trading_pb.ts";
import { cashAmount, choice } from "./option-values.ts";
import { UsageError } from "./usage-error.ts";

const option = (name: string, value: string, help: string): OptionSpec => ({ name, kind: "string", value, help });
const ACCOUNT = option("account", "ID", "the account (letters, digits, '-', '_'; at most 64)");
const AMOUNT = { name: "amount", kind: "string", value: "DOLLARS", help: "dollars, like 1000.00", check: cashAmount } as const;
const TRADING_STATES: Record<string, TradingState> = {
  active: TradingState.ACTIVE,
  trading_blocked: TradingState.TRADING_BLOCKED,
  account_blocked: TradingState.ACCOUNT_BLOCKED,
};
const STATE = {
  name: "state",
  kind: "string",
  value: "active|trading_blocked|account_blocked",
  help: "trading_blocked: no new orders or replaces; account_blocked: no cash movements either",
  check: (flag: string, text: string) => choice(flag, text, TRADING_STATES),
} as const;

function print(json: unknown): void {
  console.log(JSON.stringify(json, null, 2));
}

export const ADMIN_COMMANDS: readonly CommandSpec[] = [
  clientCommand(
    { name: "admin create-account", summary: "open an account with no cash (admin key)", synopsis: "[--id ID]", options: [option("id", "ID", "the account's id (default: the server makes one)")] },
    async (args, transport) => {
      const answer = await createClient(AccountService, transport).createAccount({ accountId: args.string("id") ?? "" });
      print(toJson(AccountService.method.createAccount.output, answer));
    },
  ),
  clientCommand(
    { name: "admin deposit", summary: "add cash to an account (admin key)", synopsis: "--account ID --amount DOLLARS", options: [ACCOUNT, AMOUNT] },
    async (args, transport) => {
      const request = { accountId: args.required("account"), amount: args.required("amount") };
      print(toJson(AccountService.method.deposit.output, await createClient(AccountService, transport).deposit(request)));
    },
  ),
  clientCommand(
    { name: "admin withdraw", summary: "take cash out of an account, up to what open orders do not hold (admin key)", synopsis: "--account ID --amount DOLLARS", options: [ACCOUNT, AMOUNT] },
    async (args, transport) => {
      const request = { accountId: args.required("account"), amount: args.required("amount") };
      print(toJson(AccountService.method.withdraw.output, await createClient(AccountService, transport).withdraw(request)));
    },
  ),
  clientCommand(
    { name: "admin set-trading-state", summary: "block or unblock an account's trading (admin key)", synopsis: "--account ID --state active|trading_blocked|account_blocked", options: [ACCOUNT, STATE] },
    async (args, transport) => {
      const request = { accountId: args.required("account"), tradingState: args.checked(STATE) ?? missing(args, "state") };
      print(toJson(AccountService.method.setTradingState.output, await createClient(AccountService, transport).setTradingState(request)));
    },
  ),
  clientCommand(
    {
      name: "admin issue-key",
      summary: "issue an API key for one account, or an admin key (admin key)",
      synopsis: "(--account ID | --admin) [--label TEXT]",
      details: "Prints the key's id and its secret; the secret is shown only now (the cluster keeps a hash of it). Give it as --api-key ID:SECRET or OMS_API_KEY.",
      options: [ACCOUNT, { name: "admin", kind: "boolean", help: "an admin key instead of an account's" }, option("label", "TEXT", "who holds the key, for people reading list-keys")],
    },
    async (args, transport) => {
      const accountId = args.string("account");
      const admin = args.flag("admin");
      if ((accountId === undefined) === !admin) throw new UsageError("give one of --account and --admin", args.command);
      const answer = await createClient(AdminService, transport).issueApiKey({ accountId: accountId ?? "", admin, label: args.string("label") ?? "" });
      print(toJson(AdminService.method.issueApiKey.output, answer));
    },
  ),
  clientCommand(
    { name: "admin revoke-key", summary: "revoke an API key: every balancer refuses it within a second (admin key)", synopsis: "--id KEY_ID", options: [option("id", "KEY_ID", "the key's id (the part before ':')")] },
    async (args, transport) => {
      print(toJson(AdminService.method.revokeApiKey.output, await createClient(AdminService, transport).revokeApiKey({ keyId: args.required("id") })));
    },
  ),
  clientCommand(
    { name: "admin list-keys", summary: "the API keys, revoked ones included, without secrets (admin key)", synopsis: "[--account ID]", options: [ACCOUNT] },
    async (args, transport) => {
      print(toJson(AdminService.method.listApiKeys.output, await createClient(AdminService, transport).listApiKeys({ accountId: args.string("account") ?? "" })));
    },
  ),
];
