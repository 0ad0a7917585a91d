// The node's Connect service, as the balancers call it.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { UnaryExchange } from "../rpc/protocol-connect/unary-exchange.ts";
import {
  ExecuteResponseSchema,
  NodeService,
  StreamTradeUpdatesResponseSchema,
  type ExecuteRequest,
  type StreamTradeUpdatesRequest,
  type StreamTradeUpdatesResponse,
} from "../gen/oms/internal/v1/node_pb.ts";
import { handleNodeCommand, nodeResultMessages, type NodeCommandCase, type NodeResults } from "./command-handlers.ts";
import { decodeExecuteRequest } from "./execute-request-decoder.ts";
import { encodedNodeResults, encodeExecuteResponse } from "./execute-response-encoder.ts";
import type { OmsNode } from "./oms-node.ts";
import { parseAccountId } from "./wire-parse.ts";

/** A batch bigger than this is refused whole: it bounds the work one request can queue. */
export const EXECUTE_BATCH_COMMANDS_MAX = 4096;

const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;

function execute<R>(node: OmsNode, commands: readonly NodeCommandCase[], newId: () => string, results: NodeResults<R>): Promise<R[]> {
  if (commands.length > EXECUTE_BATCH_COMMANDS_MAX) {
    return Promise.reject(new ConnectError(`commands: at most ${EXECUTE_BATCH_COMMANDS_MAX} per batch`, Code.InvalidArgument));
  }
  // Commands are decided in the order they arrive; their replies wait for the log.
  return Promise.all(commands.map((command) => handleNodeCommand(node, command, newId, results)));
}

/**
 * Execute in the Connect protocol (binary), answered without connect-es: the balancer calls it
 * for every batch, and connect-es's per-call machinery was a large part of a node's CPU at low
 * rates, where a batch holds one order. Other protocols and methods go to connect-es.
 */
export function nodeFastPath(node: OmsNode, newId: () => string): (exchange: UnaryExchange) => boolean {
  return (exchange) => {
    if (exchange.method !== "POST" || exchange.path !== EXECUTE_PATH) return false;
    if (exchange.headers["content-type"] !== "application/proto") return false;
    const encoding = exchange.headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    exchange.readBody((body) => {
      if (body === null) {
        exchange.reply(false, new ConnectError("message is too large", Code.ResourceExhausted));
        return;
      }
      let commands: NodeCommandCase[];
      try {
        commands = decodeExecuteRequest(body);
      } catch (error) {
        exchange.reply(false, ConnectError.from(error));
        return;
      }
      execute(node, commands, newId, encodedNodeResults).then(
        (results) => exchange.reply(false, encodeExecuteResponse(results)),
        (error: unknown) => exchange.reply(false, ConnectError.from(error)),
      );
    });
    return true;
  };
}

export function nodeServiceRoutes(node: OmsNode, newId: () => string): (router: ConnectRouter) => void {
  return (router) =>
    router.service(NodeService, {
      execute: async (request: ExecuteRequest) => {
        const commands = request.commands.map((command) => command.command);
        return create(ExecuteResponseSchema, { results: await execute(node, commands, newId, nodeResultMessages) });
      },
      streamTradeUpdates(request: StreamTradeUpdatesRequest, context: HandlerContext) {
        return streamTradeUpdates(node, request, context);
      },
    });
}

async function* streamTradeUpdates(
  node: OmsNode,
  request: StreamTradeUpdatesRequest,
  context: HandlerContext,
): AsyncGenerator<StreamTradeUpdatesResponse> {
  const accountId = parseAccountId(request.accountId);
  if (!accountId.ok) throw new ConnectError(accountId.rejection.message, Code.InvalidArgument);
  const exists = await node.read(accountId.value, () => true);
  if (!exists.ok) throw new ConnectError(exists.rejection.message, exists.rejection.code === "not_found" ? Code.NotFound : Code.FailedPrecondition);
  const subscription = node.updates.subscribe(accountId.value);
  const onAbort = () => subscription.close();
  context.signal.addEventListener("abort", onAbort);
  try {
    for (;;) {
      const next = await subscription.next();
      if (next === "closed") return;
      if (next === "overflow") throw new ConnectError("stream: client read too slowly; updates were dropped, reconnect and reconcile with ListOrders", Code.ResourceExhausted);
      yield create(StreamTradeUpdatesResponseSchema, { update: next });
    }
  } finally {
    context.signal.removeEventListener("abort", onAbort);
    subscription.close();
  }
}
