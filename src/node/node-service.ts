// The node's Connect service, as the balancers call it. Execute, which carries every command,
// is served only here, in the Connect protocol with binary messages (application/proto, over
// HTTP/2 from the balancer's lean client or a stock connect-es client), by executeCalls without
// connect-es, whose per-call machinery would be paid for each order at low rates, where a batch
// holds one order. Execute in any other protocol is refused here too, in the caller's own
// protocol. StreamTradeUpdates, ListQuotes and health stay on connect-es.
import type { IncomingHttpHeaders } from "node:http";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { contentTypeUnaryProto } from "@connectrpc/connect/protocol-connect";
import { clusterSecretCheck } from "../rpc/cluster-secret.ts";
import { connectUnaryCallOf } from "../rpc/protocol-connect/unary-request.ts";
import type { UnaryExchange } from "../rpc/protocol-connect/unary-exchange.ts";
import { protocolFamilyOf } from "../rpc/protocol-grpc/content-type.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import {
  NodeService,
  StreamTradeUpdatesResponseSchema,
  type StreamTradeUpdatesRequest,
  type StreamTradeUpdatesResponse,
} from "../gen/oms/internal/v1/node_pb.ts";
import { decodeExecuteRequest, type ExecuteBatch } from "./execute-request-decoder.ts";
import { encodeExecuteResponse } from "./execute-response-encoder.ts";
import type { OmsNode } from "./oms-node.ts";
import type { ReplyClock } from "./commit-pipeline.ts";
import { nodeMetrics } from "../metrics/node-metrics.ts";
import { parseAccountId } from "./wire-parse.ts";

// A load balancer's or orchestrator's probe cannot be given the secret, and health says only
// SERVING or not: it stays open. Everything else (Execute, the streams, ListQuotes, reflection,
// /metrics, unknown paths) needs the secret.
const HEALTH_PATH_PREFIX = `/${Health.typeName}/`;

/**
 * The node's door, asked by serveRpc before any other path: null lets the call in. Without a
 * secret every caller is let in (a node binds so only on loopback, or behind mutual TLS, which
 * the TLS handshake enforces before any request).
 */
export function nodeDoor(secret: string | null): ((path: string, headers: IncomingHttpHeaders) => ConnectError | null) | undefined {
  if (secret === null) return undefined;
  const check = clusterSecretCheck(secret);
  return (path, headers) => (path.startsWith(HEALTH_PATH_PREFIX) ? null : check(headers));
}

/** A batch bigger than this is refused whole: it bounds the work one request can queue. */
export const EXECUTE_BATCH_COMMANDS_MAX = 4096;

const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;
const HTTP_UNSUPPORTED_MEDIA_TYPE = 415;

/**
 * Every call to Execute: Connect binary requests are served (gzip, connect-timeout-ms and
 * connect-protocol-version as the protocol allows, read by connectUnaryCallOf); anything else
 * is refused with UNIMPLEMENTED, or the error that names what breaks the protocol.
 */
export function executeCalls(node: OmsNode, newId: () => string): (exchange: UnaryExchange) => boolean {
  return (exchange) => {
    const target = exchange.path ?? "";
    if (target !== EXECUTE_PATH && !target.startsWith(`${EXECUTE_PATH}?`)) return false;
    const family = protocolFamilyOf(exchange.headers["content-type"]);
    if (family !== "connect") {
      // Drained, so that an HTTP/1.1 connection stays usable after the refusal.
      exchange.readBody(() => exchange.refuse(notServedIn(family)));
      return true;
    }
    const call = connectUnaryCallOf(exchange, false);
    if ("error" in call) {
      exchange.readBody(() => exchange.reply(true, call.error, call.http));
      return true;
    }
    if (call.json) {
      exchange.readBody(() => exchange.reply(true, notServedIn("Connect JSON"), { status: HTTP_UNSUPPORTED_MEDIA_TYPE }));
      return true;
    }
    // The call's own deadline is the balancer's: the node answers when the log has the batch,
    // or at its own ack timeout. Each command's deadline counts from now, when the call's
    // headers came, so that reading a large body is counted against it.
    const arrivedMs = node.nowMs();
    const headersAtMs = performance.now();
    call.readMessage((message) => {
      if (message instanceof ConnectError) {
        exchange.reply(false, message);
        return;
      }
      let batch: ExecuteBatch;
      try {
        batch = decodeExecuteRequest(message);
      } catch (error) {
        exchange.reply(false, ConnectError.from(error));
        return;
      }
      const commands = batch.commands.length;
      const takenUpMs = performance.now();
      nodeMetrics.stages.queued.observeMany((takenUpMs - headersAtMs) / 1000, commands);
      const replyClock: ReplyClock = { durableHeardMs: takenUpMs };
      execute(node, batch, arrivedMs, newId, replyClock).then(
        (results) => {
          exchange.reply(false, encodeExecuteResponse(results));
          nodeMetrics.stages.reply.observeMany((performance.now() - replyClock.durableHeardMs) / 1000, commands);
        },
        (error: unknown) => exchange.reply(false, ConnectError.from(error)),
      );
    });
    return true;
  };
}

function notServedIn(protocol: string): ConnectError {
  return new ConnectError(`content-type: ${EXECUTE_PATH} is served only in the Connect protocol with binary messages (${contentTypeUnaryProto}), not in ${protocol}`, Code.Unimplemented);
}

/**
 * Every command of the batch through the commit pipeline, decided in the order they arrive,
 * each refused undecided if its time (timeouts_ms, from arrivedMs) ran out before its turn;
 * each answer waits for the log.
 */
function execute(node: OmsNode, batch: ExecuteBatch, arrivedMs: number, newId: () => string, replyClock: ReplyClock): Promise<Uint8Array[]> {
  const { commands, timeoutsMs } = batch;
  if (commands.length > EXECUTE_BATCH_COMMANDS_MAX) {
    return Promise.reject(new ConnectError(`commands: at most ${EXECUTE_BATCH_COMMANDS_MAX} per batch`, Code.InvalidArgument));
  }
  if (timeoutsMs.length > commands.length) {
    return Promise.reject(new ConnectError(`timeouts_ms: ${timeoutsMs.length} for ${commands.length} commands, at most one each`, Code.InvalidArgument));
  }
  return Promise.all(commands.map((command, i) => {
    const timeoutMs = timeoutsMs[i];
    return node.execute(command, newId, timeoutMs === undefined ? null : arrivedMs + timeoutMs, replyClock);
  }));
}

/** StreamTradeUpdates; connect-es never sees an Execute call (executeCalls answers them all). */
export function nodeServiceRoutes(node: OmsNode): (router: ConnectRouter) => void {
  return (router) =>
    router.service(NodeService, {
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
