// The node's Connect service, as the balancers call it.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  ExecuteResponseSchema,
  NodeService,
  StreamTradeUpdatesResponseSchema,
  type ExecuteRequest,
  type StreamTradeUpdatesRequest,
  type StreamTradeUpdatesResponse,
} from "../gen/oms/internal/v1/node_pb.ts";
import { handleNodeCommand } from "./command-handlers.ts";
import type { OmsNode } from "./oms-node.ts";
import { parseAccountId } from "./wire-parse.ts";

/** A batch bigger than this is refused whole: it bounds the work one request can queue. */
export const EXECUTE_BATCH_COMMANDS_MAX = 4096;

export function nodeServiceRoutes(node: OmsNode, newId: () => string): (router: ConnectRouter) => void {
  return (router) =>
    router.service(NodeService, {
      async execute(request: ExecuteRequest) {
        if (request.commands.length > EXECUTE_BATCH_COMMANDS_MAX) {
          throw new ConnectError(`commands: at most ${EXECUTE_BATCH_COMMANDS_MAX} per batch`, Code.InvalidArgument);
        }
        // Commands are decided in the order they arrive; their replies wait for the log.
        const results = await Promise.all(request.commands.map((command) => handleNodeCommand(node, command, newId)));
        return create(ExecuteResponseSchema, { results });
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
