// One public unary call, routed: the account id picks the node, the node's result or refusal
// comes back as it was. Both the Connect handlers and the lean fast path use this.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { accountIdProblem } from "../core/account-id.ts";
import { NodeCommandSchema, type NodeResult } from "../gen/oms/internal/v1/node_pb.ts";
import { connectErrorOfNodeError } from "../rpc/errors.ts";
import type { RoutingTable } from "./routing-table.ts";

export type CommandCase = NonNullable<MessageInitShape<typeof NodeCommandSchema>["command"]>;
type ResultCase = NodeResult["result"];

/** Throws a ConnectError for a refusal: invalid account id, node down, or the node's own. */
export async function routeCommand<K extends CommandCase["case"]>(
  routing: RoutingTable,
  command: Extract<CommandCase, { case: K }>,
): Promise<Extract<ResultCase, { case: K }>["value"]> {
  const accountId = (command.value as { accountId?: string }).accountId ?? "";
  const problem = accountIdProblem(accountId);
  if (problem !== null) throw new ConnectError(problem.message, Code.InvalidArgument);
  const result = await routing.ownerOf(accountId).call(create(NodeCommandSchema, { command }));
  if (result.result.case === "error") throw connectErrorOfNodeError(result.result.value);
  if (result.result.case !== command.case) {
    throw new ConnectError(`node answered ${String(result.result.case)} to ${command.case}`, Code.Internal);
  }
  // The case was checked just above; TypeScript cannot narrow a generic oneof by it.
  return result.result.value as never;
}
