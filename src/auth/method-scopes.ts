// Which key may call which public method, by its procedure name ("oms.v1.OrderService/GetOrder").
// A method missing from this table is refused to every key but an admin's (closed by default):
// a new method is for administrators until someone decides otherwise here.
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { AdminService } from "../gen/oms/v1/admin_service_pb.ts";
import { AssetService } from "../gen/oms/v1/asset_service_pb.ts";
import { OrderService } from "../gen/oms/v1/order_service_pb.ts";

/**
 * - account: acts on one account, named by the request's account_id (implied by an account key);
 * - market: reads what every client may see (the tradable assets), any valid key;
 * - admin: an admin key only.
 */
export type MethodScope = "account" | "market" | "admin";

const procedureOf = (service: { typeName: string }, method: { name: string }) => `${service.typeName}/${method.name}`;

/**
 * Named, not taken from the generated services: part 2 of issue 10 adds Withdraw and
 * SetTradingState to AccountService, and they must be admin-only the moment they exist.
 */
const ADMIN_ACCOUNT_METHODS = ["CreateAccount", "Deposit", "Withdraw", "SetTradingState"].map((name) => `${AccountService.typeName}/${name}`);

export const METHOD_SCOPES: ReadonlyMap<string, MethodScope> = new Map<string, MethodScope>([
  ...AccountService.methods.map((method) => [procedureOf(AccountService, method), "account"] as const),
  ...OrderService.methods.map((method) => [procedureOf(OrderService, method), "account"] as const),
  ...AssetService.methods.map((method) => [procedureOf(AssetService, method), "market"] as const),
  ...AdminService.methods.map((method) => [procedureOf(AdminService, method), "admin"] as const),
  ...ADMIN_ACCOUNT_METHODS.map((procedure) => [procedure, "admin"] as const),
]);
