// One public unary call, routed: the account id picks the node, the node's result or refusal
// comes back as it was. The Connect unary calls (connect-unary-calls.ts) and connect-es's routes
// (public-services.ts) both route through this.
import { create, isMessage, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { accountIdProblem } from "../core/account-id.ts";
import { NodeCommandSchema, type NodeResult } from "../gen/oms/internal/v1/node_pb.ts";
import type { NodeAnswer } from "./node-answer.ts";
import { requestRefusal } from "./request-validation.ts";
import type { RoutingTable } from "./routing-table.ts";

export type CommandCase = NonNullable<MessageInitShape<typeof NodeCommandSchema>["command"]>;
type ResultCase = NodeResult["result"];

/** Each command case's request message, whose buf.validate rules its value must keep. */
const REQUEST_SCHEMAS = new Map<string, DescMessage>(
  NodeCommandSchema.fields.flatMap((field) => (field.message === undefined ? [] : [[field.localName, field.message] as const])),
);

/**
 * Throws a ConnectError for a refusal: invalid account id or field, node down or full, the
 * deadline (timeoutMs, the caller's; null for the balancer's own) passed before the node took
 * the command, or the node's own refusal.
 */
export async function routeCommand<K extends CommandCase["case"]>(
  routing: RoutingTable,
  command: Extract<CommandCase, { case: K }>,
  timeoutMs: number | null = null,
): Promise<Extract<ResultCase, { case: K }>["value"]> {
  // TypeScript cannot relate the generic result case to the declared one; resultOf checked it.
  return resultOf<K>(await routedAnswer(routing, command, undefined, timeoutMs), command.case as K) as never;
}

/**
 * The owner's answer, still encoded; a refused account id, a field that breaks its
 * buf.validate rules (request-validation.ts) or a node that is down or full throws.
 * encodedCommand, if given, is the command already encoded (node-command-bytes.ts); timeoutMs
 * is the caller's deadline (null: the balancer's call timeout).
 */
export function routedAnswer(routing: RoutingTable, command: CommandCase, encodedCommand?: Uint8Array, timeoutMs: number | null = null): Promise<NodeAnswer> {
  const accountId = (command.value as { accountId?: string }).accountId ?? "";
  // The domain's words for an account id first: they say what the id may hold.
  const problem = accountIdProblem(accountId);
  if (problem !== null) return Promise.reject(new ConnectError(problem.message, Code.InvalidArgument));
  const refusal = fieldsRefusal(command);
  if (refusal !== null) return Promise.reject(refusal);
  const owner = routing.ownerOf(accountId);
  return encodedCommand === undefined ? owner.answer(create(NodeCommandSchema, { command }), timeoutMs) : owner.answerEncoded(encodedCommand, timeoutMs);
}

function fieldsRefusal(command: CommandCase): ConnectError | null {
  const schema = REQUEST_SCHEMAS.get(command.case ?? "");
  if (schema === undefined) throw new Error(`NodeCommand has no message field ${command.case}`);
  // connect-es hands over messages; a value the balancer built (CreateAccount's) is made one.
  const value: unknown = command.value;
  return requestRefusal(schema, isMessage(value, schema) ? value : create(schema, value as MessageInitShape<DescMessage>));
}

/** The result of the case asked for, or the node's refusal thrown as a ConnectError. */
export function resultOf<K extends CommandCase["case"]>(answer: NodeAnswer, commandCase: K): Extract<ResultCase, { case: K }>["value"] {
  // A command's case and its result's case share their names; TypeScript cannot relate the generic ones.
  return answer.resultOf(commandCase as Exclude<K, undefined>) as never;
}
