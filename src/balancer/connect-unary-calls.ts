// The public unary methods (AccountService, OrderService) in the Connect protocol: binary and
// JSON, HTTP/1.1 and HTTP/2, POST and (for the read-only methods) GET, gzip either way. This is
// the only path for them: connect-es spends ~100 µs of CPU per unary call on its generic
// machinery (async iterables, abort signals, interceptors), and the balancer does nothing per
// call but decode, route and encode. gRPC and gRPC-web calls of the same methods go to
// connect-es (public-services.ts), through the same routing (route-command.ts).
import { fromBinary, fromJson, toJsonString, type DescMessage, type DescService, type JsonValue } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { authorize } from "../auth/authorize.ts";
import type { Admission, CallGate } from "../auth/call-gate.ts";
import { nodeHeaderLookup } from "../auth/credentials.ts";
import { RETRY_AFTER_HEADER } from "../auth/key-limits.ts";
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { OrderService } from "../gen/oms/v1/order_service_pb.ts";
import { NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { unknownEnumInJson } from "../rpc/protocol/json-enum-values.ts";
import type { UnaryExchange } from "../rpc/protocol-connect/unary-exchange.ts";
import { connectUnaryCallOf } from "../rpc/protocol-connect/unary-request.ts";
import { protocolFamilyOf } from "../rpc/protocol-grpc/content-type.ts";
import { encodedNodeCommand, nodeCommandField } from "./node-command-bytes.ts";
import type { ResultCase } from "./node-answer.ts";
import { resultOf, routedAnswer, type CommandCase } from "./route-command.ts";
import type { RoutingTable } from "./routing-table.ts";
import { edgeMetrics } from "../metrics/balancer-metrics.ts";

interface UnaryMethod {
  input: DescMessage;
  output: DescMessage;
  commandCase: CommandCase["case"];
  /** The NodeCommand field that carries this method's request. */
  commandField: number;
  /** Marked NO_SIDE_EFFECTS in proto/: Connect GET is allowed. */
  readOnly: boolean;
  /** "oms.v1.OrderService/SubmitOrder": the method's label in metrics. */
  procedure: string;
}

// JSON as Connect servers read it: unknown fields are ignored (unknown enum values are not: see
// json-enum-values.ts).
const JSON_READ = { ignoreUnknownFields: true };

function methodsOf(...services: DescService[]): Map<string, UnaryMethod> {
  const table = new Map<string, UnaryMethod>();
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      const commandCase = method.localName as CommandCase["case"];
      if (!NodeResultSchema.fields.some((field) => field.localName === commandCase)) throw new Error(`Connect unary: NodeResult has no field for ${method.name}`);
      const commandField = nodeCommandField(method.localName);
      const readOnly = method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
      const procedure = `${service.typeName}/${method.name}`;
      table.set(`/${procedure}`, { input: method.input, output: method.output, commandCase, commandField, readOnly, procedure });
    }
  }
  return table;
}

export interface ConnectUnaryCalls {
  /** Answers a Connect unary call of a public method and returns true, or returns false to pass it on. */
  (exchange: UnaryExchange): boolean;
  /** Calls answered so far, for tests and metrics. */
  answered: number;
}

export function connectUnaryCalls(routing: RoutingTable, newAccountId: () => string, gate: CallGate): ConnectUnaryCalls {
  const methods = methodsOf(AccountService, OrderService);
  const calls = ((exchange: UnaryExchange): boolean => {
    const target = exchange.path ?? "";
    const query = target.indexOf("?");
    const method = methods.get(query < 0 ? target : target.slice(0, query));
    if (method === undefined) return false;
    const contentType = exchange.headers["content-type"];
    const family = protocolFamilyOf(Array.isArray(contentType) ? contentType[0] : contentType);
    if (family === "grpc" || family === "grpc-web") return false;
    calls.answered += 1;
    const startedMs = edgeMetrics.now();
    const ended = (code: Code | null) => edgeMetrics.callEnded(method.procedure, code, (edgeMetrics.now() - startedMs) / 1000);
    const call = connectUnaryCallOf(exchange, method.readOnly);
    // Before the body is read: a call without a valid key learns nothing more about the method.
    const caller = "error" in call ? null : gate.admit(nodeHeaderLookup(exchange.headers), exchange.connection);
    if ("error" in call) {
      // Drained, so that an HTTP/1.1 connection stays usable after the refusal.
      exchange.readBody(() => {
        exchange.reply(true, call.error, call.http);
        ended(call.error.code);
      });
      return true;
    }
    call.readMessage((message) => {
      if (message instanceof ConnectError) {
        exchange.reply(call.json, message);
        ended(message.code);
        return;
      }
      const marks: StageMarks = { startedMs, answeredMs: null };
      void answer(routing, newAccountId, method, call.json, message, call.timeoutMs, caller as Admission | Promise<Admission>, marks).then((result) => {
        exchange.reply(call.json, result, result instanceof ConnectError ? retryHint(result) : undefined);
        ended(result instanceof ConnectError ? result.code : null);
        if (marks.answeredMs !== null) edgeMetrics.stages.answer.observe((edgeMetrics.now() - marks.answeredMs) / 1000);
      });
    });
    return true;
  }) as ConnectUnaryCalls;
  calls.answered = 0;
  return calls;
}

/** A call's marks for its route and answer stages (balancer-metrics.ts), on edgeMetrics' clock. */
interface StageMarks {
  readonly startedMs: number;
  /** When the node's answer came back; null until it does (a call refused here has none). */
  answeredMs: number | null;
}

async function answer(
  routing: RoutingTable,
  newAccountId: () => string,
  method: UnaryMethod,
  json: boolean,
  body: Uint8Array,
  timeoutMs: number | null,
  admission: Admission | Promise<Admission>,
  marks: StageMarks,
): Promise<Uint8Array | string | ConnectError> {
  const caller = await admission;
  if (caller instanceof ConnectError) return caller;
  const input = json ? decodeJson(method.input, body) : decodeBinary(method.input, body);
  if (input instanceof ConnectError) return input;
  if (timeoutMs !== null && timeoutMs <= 0) return new ConnectError("the operation timed out", Code.DeadlineExceeded);
  const keyed = input as unknown as { accountId: string };
  const allowed = authorize(caller, method.procedure, keyed.accountId);
  if (allowed instanceof ConnectError) return allowed;
  if (allowed.implied) keyed.accountId = allowed.accountId;
  const named = method.commandCase === "createAccount" && keyed.accountId === "";
  if (named) keyed.accountId = newAccountId();
  // A binary request the balancer did not change goes to the node in the bytes it came in.
  const encodedCommand = json || named || allowed.implied ? undefined : encodedNodeCommand(method.commandField, body);
  try {
    // The deadline goes with the command (node-link.ts): a command not decided in time is
    // answered DEADLINE_EXCEEDED having done nothing, and one decided is answered, however late.
    const routed = routedAnswer(routing, { case: method.commandCase, value: input } as CommandCase, encodedCommand, timeoutMs);
    edgeMetrics.stages.route.observe((edgeMetrics.now() - marks.startedMs) / 1000);
    const answer = await routed;
    marks.answeredMs = edgeMetrics.now();
    // The node encoded the response already; a binary client gets those bytes as they are.
    if (!json) return answer.valueOf(method.commandCase as ResultCase);
    return toJsonString(method.output, resultOf(answer, method.commandCase) as never);
  } catch (error) {
    return ConnectError.from(error);
  }
}

/** A rate-limit refusal's retry-after header, as connect-es writes a ConnectError's metadata. */
function retryHint(error: ConnectError): { status: number; headers: Record<string, string> } | undefined {
  const retryAfter = error.metadata.get(RETRY_AFTER_HEADER);
  return retryAfter === null ? undefined : { status: codeToHttpStatus(error.code), headers: { [RETRY_AFTER_HEADER]: retryAfter } };
}

function decodeBinary(schema: DescMessage, body: Uint8Array): object | ConnectError {
  try {
    return fromBinary(schema, body);
  } catch (error) {
    return new ConnectError(`cannot decode message ${schema.typeName} from binary: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
  }
}

// Invalid UTF-8 is refused, not replaced: with U+FFFD in its place an id would silently name
// another account or order (found by test/fuzz).
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeJson(schema: DescMessage, body: Uint8Array): object | ConnectError {
  try {
    const json = JSON.parse(UTF8_STRICT.decode(body)) as JsonValue;
    return unknownEnumInJson(schema, json) ?? fromJson(schema, json, JSON_READ);
  } catch (error) {
    return new ConnectError(`cannot decode message ${schema.typeName} from JSON: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
  }
}
