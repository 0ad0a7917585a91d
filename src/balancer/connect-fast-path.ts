// A lean path for the public unary methods in the Connect protocol (binary and JSON, HTTP/1.1
// and HTTP/2). connect-es spends ~100 µs of CPU per unary call on its generic machinery
// (async iterables, abort signals, interceptors); the balancer does nothing per call but
// decode, route and encode, so it answers these requests itself, byte-compatible with the
// Connect protocol. Everything else (gRPC, gRPC-web, compression, streaming, unknown paths,
// unusual headers) goes to connect-es unchanged.
import { fromBinary, fromJsonString, toJsonString, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { OrderService } from "../gen/oms/v1/order_service_pb.ts";
import type { UnaryExchange } from "../rpc/connect-unary-wire.ts";
import { MESSAGE_BYTES_MAX } from "../rpc/serve.ts";
import { NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { encodedNodeCommand, nodeCommandField } from "./node-command-bytes.ts";
import { resultOf, routedAnswer, type CommandCase } from "./route-command.ts";
import type { RoutingTable } from "./routing-table.ts";


interface FastMethod {
  input: DescMessage;
  output: DescMessage;
  commandCase: CommandCase["case"];
  /** The NodeCommand field that carries this method's request, and the NodeResult field of its response. */
  commandField: number;
  resultField: number;
}

// JSON as connect-es reads it: unknown fields are ignored.
const JSON_READ = { ignoreUnknownFields: true };

function methodsOf(...services: DescService[]): Map<string, FastMethod> {
  const table = new Map<string, FastMethod>();
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      const commandCase = (method.localName as CommandCase["case"]);
      const resultField = NodeResultSchema.fields.find((field) => field.localName === commandCase)?.number;
      if (resultField === undefined) throw new Error(`fast path: NodeResult has no field for ${method.name}`);
      const commandField = nodeCommandField(method.localName);
      table.set(`/${service.typeName}/${method.name}`, { input: method.input, output: method.output, commandCase, commandField, resultField });
    }
  }
  return table;
}

export interface FastPath {
  /** Answers a request and returns true, or returns false to pass it on. */
  (exchange: UnaryExchange): boolean;
  /** Requests answered so far, for tests and metrics. */
  answered: number;
}

export function connectFastPath(routing: RoutingTable, newAccountId: () => string): FastPath {
  const methods = methodsOf(AccountService, OrderService);
  const fastPath = ((exchange: UnaryExchange): boolean => {
    if (exchange.method !== "POST") return false;
    const method = methods.get(exchange.path ?? "");
    if (method === undefined) return false;
    const headers = exchange.headers;
    const contentType = headers["content-type"];
    const json = contentType === "application/json" || contentType === "application/json; charset=utf-8";
    if (!json && contentType !== "application/proto") return false;
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const version = headers["connect-protocol-version"];
    if (version !== undefined && version !== "1") return false;
    const timeoutText = headers["connect-timeout-ms"];
    const timeoutMs = timeoutText === undefined ? null : Number(timeoutText);
    if (timeoutMs !== null && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && String(timeoutText).length <= 10)) return false;
    exchange.readBody((body) => {
      if (body === null) {
        exchange.reply(json, new ConnectError(`message is larger than ${MESSAGE_BYTES_MAX} bytes`, Code.ResourceExhausted));
        return;
      }
      void answer(routing, newAccountId, method, json, body, timeoutMs).then((result) => exchange.reply(json, result));
    });
    fastPath.answered += 1;
    return true;
  }) as FastPath;
  fastPath.answered = 0;
  return fastPath;
}

async function answer(
  routing: RoutingTable,
  newAccountId: () => string,
  method: FastMethod,
  json: boolean,
  body: Buffer,
  timeoutMs: number | null,
): Promise<Uint8Array | string | ConnectError> {
  let input;
  try {
    input = json ? fromJsonString(method.input, body.toString("utf8"), JSON_READ) : fromBinary(method.input, body);
  } catch (error) {
    return new ConnectError(`cannot decode message ${method.input.typeName} from ${json ? "JSON" : "binary"}: ${String(error instanceof Error ? error.message : error)}`, Code.InvalidArgument);
  }
  const keyed = input as unknown as { accountId: string };
  const named = method.commandCase === "createAccount" && keyed.accountId === "";
  if (named) keyed.accountId = newAccountId();
  // A binary request the balancer did not change goes to the node in the bytes it came in.
  const encodedCommand = json || named ? undefined : encodedNodeCommand(method.commandField, body);
  try {
    const routed = routedAnswer(routing, { case: method.commandCase, value: input } as CommandCase, encodedCommand);
    const answer = await (timeoutMs === null ? routed : withDeadline(routed, timeoutMs));
    // The node encoded the response already; a binary client gets those bytes as they are.
    if (!json) return answer.valueOf(method.commandCase as Exclude<CommandCase["case"], undefined>);
    return toJsonString(method.output, resultOf(answer, method.commandCase) as never);
  } catch (error) {
    return ConnectError.from(error);
  }
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

