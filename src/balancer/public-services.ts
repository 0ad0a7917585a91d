// The public API as connect-es serves it for the balancer: gRPC and gRPC-web calls of the unary
// methods and StreamTradeUpdates in every protocol. Each call is routed by its account_id to
// the node that owns the account (route-command.ts, as the Connect unary path routes), and the
// node's answer (or refusal) is passed back unchanged. Connect unary calls never get here
// (connect-unary-calls.ts), nor SubmitOrders on HTTP/2 (submit-orders-stream.ts).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { accountIdProblem } from "../core/account-id.ts";
import { AccountService, type CreateAccountRequest } from "../gen/oms/v1/account_service_pb.ts";
import { OrderService, StreamTradeUpdatesRequestSchema, StreamTradeUpdatesResponseSchema, type StreamTradeUpdatesRequest } from "../gen/oms/v1/order_service_pb.ts";
import { callMetricsInterceptor } from "../metrics/call-metrics-interceptor.ts";
import { requestRefusal } from "./request-validation.ts";
import { routeCommand, type CommandCase } from "./route-command.ts";
import { SUBMIT_ORDERS_NEEDS_HTTP2 } from "./submit-orders-stream.ts";
import type { RoutingTable } from "./routing-table.ts";

/** `auth` is the key check (auth/auth-interceptor.ts): it runs before every method here, after the call metrics start. */
export function publicServiceRoutes(routing: RoutingTable, newAccountId: () => string, auth: Interceptor): (router: ConnectRouter) => void {
  const interceptors = [callMetricsInterceptor, auth];
  // The call's deadline (grpc-timeout) goes with the command to the node (node-link.ts).
  const route = <K extends CommandCase["case"]>(command: Extract<CommandCase, { case: K }>, context: HandlerContext) =>
    routeCommand(routing, command, context.timeoutMs() ?? null);
  return (router) => {
    router.service(AccountService, {
      createAccount: (request: CreateAccountRequest, context) =>
        route({ case: "createAccount", value: { accountId: request.accountId === "" ? newAccountId() : request.accountId } }, context),
      deposit: (request, context) => route({ case: "deposit", value: request }, context),
      withdraw: (request, context) => route({ case: "withdraw", value: request }, context),
      setTradingState: (request, context) => route({ case: "setTradingState", value: request }, context),
      getAccount: (request, context) => route({ case: "getAccount", value: request }, context),
      listPositions: (request, context) => route({ case: "listPositions", value: request }, context),
    }, { interceptors });
    router.service(OrderService, {
      submitOrder: (request, context) => route({ case: "submitOrder", value: request }, context),
      cancelOrder: (request, context) => route({ case: "cancelOrder", value: request }, context),
      replaceOrder: (request, context) => route({ case: "replaceOrder", value: request }, context),
      getOrder: (request, context) => route({ case: "getOrder", value: request }, context),
      listOrders: (request, context) => route({ case: "listOrders", value: request }, context),
      streamTradeUpdates: (request, context) => streamTradeUpdates(routing, request, context),
      // Never called: every SubmitOrders call is taken before connect-es (submit-orders-stream.ts).
      submitOrders: () => {
        throw new ConnectError(SUBMIT_ORDERS_NEEDS_HTTP2, Code.Unimplemented);
      },
    }, { interceptors });
  };
}

async function* streamTradeUpdates(routing: RoutingTable, request: StreamTradeUpdatesRequest, context: HandlerContext) {
  const problem = accountIdProblem(request.accountId);
  if (problem !== null) throw new ConnectError(problem.message, Code.InvalidArgument);
  const refusal = requestRefusal(StreamTradeUpdatesRequestSchema, request);
  if (refusal !== null) throw refusal;
  for await (const update of routing.ownerOf(request.accountId).streamTradeUpdates(request.accountId, context.signal)) {
    yield create(StreamTradeUpdatesResponseSchema, { update });
  }
}
