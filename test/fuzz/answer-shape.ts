// Reads a raw answer as the caller's protocol requires it to be, and says which code it carries
// ("ok" or a Connect code name). Anything a client of that protocol could not read (a wrong
// content type, a body that does not decode as the method's response, an error without a code,
// an HTTP status that does not match the code, a gRPC answer without grpc-status) is thrown as
// a MalformedAnswer, which the fuzzer reports as a failure.
import { fromBinary, fromJson, isMessage, type DescMessage, type Message } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { codeFromString, codeToHttpStatus, codeToString, endStreamFlag } from "@connectrpc/connect/protocol-connect";
import { gunzipSync } from "node:zlib";
import { SubmitOrdersResponseSchema, type SubmitOrdersResponse } from "../../src/gen/oms/v1/order_service_pb.ts";
import type { WireAnswer } from "./wire-exchange.ts";

/** The protocol a caller speaks, which its answer must be in. */
export type CallerProtocol = "connect" | "connect-stream" | "grpc" | "grpc-web";
export type Codec = "proto" | "json";

export class MalformedAnswer extends Error {}

export interface ReadAnswer {
  /** "ok", a Connect code name, or "open" for a stream still running when the client hung up. */
  code: string;
  message: string;
  /** Response messages read, each decoded as the method's output. */
  messages: Message[];
}

/** Statuses the Connect protocol gives by HTTP's rules rather than the code's: method not allowed, media type not supported. */
const HTTP_LEVEL_STATUSES: ReadonlySet<number> = new Set([405, 415]);
const GRPC_WEB_TRAILER_FLAG = 0x80;
const COMPRESSED_FLAG = 0x01;

export function readAnswer(protocol: CallerProtocol, codec: Codec, output: DescMessage, answer: WireAnswer): ReadAnswer {
  switch (protocol) {
    case "connect":
      return readConnectUnary(codec, output, answer);
    case "connect-stream":
      return readConnectStream(codec, output, answer);
    case "grpc":
      return readGrpc(codec, output, answer, false);
    case "grpc-web":
      return readGrpc(codec, output, answer, true);
  }
}

function malformed(what: string, answer: WireAnswer): never {
  const body = Buffer.from(answer.body.subarray(0, 200)).toString("latin1");
  throw new MalformedAnswer(`${what} (HTTP ${answer.status}, content-type ${answer.headers["content-type"] ?? "none"}, body ${JSON.stringify(body)})`);
}

function decodeMessage(codec: Codec, output: DescMessage, bytes: Uint8Array, answer: WireAnswer): Message {
  let message: Message;
  try {
    if (codec === "proto") message = fromBinary(output, bytes);
    else message = fromJson(output, JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)));
  } catch (error) {
    malformed(`the answer does not decode as ${output.typeName}: ${String(error)}`, answer);
  }
  if (isMessage(message, SubmitOrdersResponseSchema)) checkOrderRefusal(message, answer);
  return message;
}

/** An order refused inside a SubmitOrders stream carries a code as a unary call would, never a server fault's. */
function checkOrderRefusal(response: SubmitOrdersResponse, answer: WireAnswer): void {
  if (response.result.case !== "refusal") return;
  const code = codeFromString(response.result.value.code);
  if (code === undefined) malformed(`an order refusal has no known code (${response.result.value.code})`, answer);
  if (code === Code.Internal || code === Code.Unknown || code === Code.DataLoss) {
    malformed(`an order was refused ${response.result.value.code}: ${response.result.value.message}`, answer);
  }
}

function inflate(bytes: Uint8Array, encoding: string | undefined, answer: WireAnswer): Uint8Array {
  if (encoding === undefined || encoding === "identity") return bytes;
  if (encoding !== "gzip") malformed(`answer encoding ${encoding} was never offered`, answer);
  try {
    return gunzipSync(bytes);
  } catch {
    return malformed("a gzip answer does not inflate", answer);
  }
}

function readConnectUnary(codec: Codec, output: DescMessage, answer: WireAnswer): ReadAnswer {
  if (answer.stillOpen) malformed("a unary answer never ended", answer);
  const contentType = answer.headers["content-type"] ?? "";
  const body = inflate(answer.body, answer.headers["content-encoding"], answer);
  if (answer.status === 200) {
    if (contentType !== `application/${codec}`) malformed(`a success must be application/${codec}`, answer);
    return { code: "ok", message: "", messages: [decodeMessage(codec, output, body, answer)] };
  }
  if (!contentType.startsWith("application/json")) malformed("a Connect error must be JSON", answer);
  return connectErrorOf(body, answer, answer.status);
}

/** A Connect error's JSON ({code, message}); its HTTP status, where it has one, must be the code's. */
function connectErrorOf(bytes: Uint8Array, answer: WireAnswer, httpStatus: number | undefined): ReadAnswer {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    malformed("a Connect error body is not JSON", answer);
  }
  if (typeof json !== "object" || json === null) malformed("a Connect error is not an object", answer);
  const { code, message } = json as { code?: unknown; message?: unknown };
  const known = typeof code === "string" ? codeFromString(code) : undefined;
  if (known === undefined) malformed(`a Connect error has no known code (${String(code)})`, answer);
  if (httpStatus !== undefined && !HTTP_LEVEL_STATUSES.has(httpStatus) && codeToHttpStatus(known) !== httpStatus) malformed(`HTTP ${httpStatus} is not the status of ${String(code)}`, answer);
  return { code: codeToString(known), message: typeof message === "string" ? message : "", messages: [] };
}

interface Envelope {
  flags: number;
  data: Uint8Array;
}

function envelopesOf(answer: WireAnswer): Envelope[] {
  const body = answer.body;
  const envelopes: Envelope[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) malformed(`a stream answer ends inside an envelope header at byte ${at}`, answer);
    const view = new DataView(body.buffer, body.byteOffset + at, 5);
    const length = view.getUint32(1);
    if (body.length - at - 5 < length && !answer.stillOpen) malformed(`an envelope at byte ${at} claims ${length} bytes past the end`, answer);
    envelopes.push({ flags: body[at] as number, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return envelopes;
}

function readConnectStream(codec: Codec, output: DescMessage, answer: WireAnswer): ReadAnswer {
  const contentType = answer.headers["content-type"] ?? "";
  if (answer.status !== 200) {
    // Connect streaming refuses before the stream only with an HTTP error whose body is a Connect error.
    if (answer.stillOpen) malformed("an HTTP error answer never ended", answer);
    return connectErrorOf(inflate(answer.body, answer.headers["content-encoding"], answer), answer, answer.status);
  }
  if (contentType !== `application/connect+${codec}`) malformed(`a Connect stream must be application/connect+${codec}`, answer);
  const envelopes = envelopesOf(answer);
  const messages: Message[] = [];
  for (const [index, envelope] of envelopes.entries()) {
    const data = (envelope.flags & COMPRESSED_FLAG) === 0 ? envelope.data : inflate(envelope.data, answer.headers["connect-content-encoding"] ?? "none", answer);
    if ((envelope.flags & endStreamFlag) !== 0) {
      if (index !== envelopes.length - 1) malformed("envelopes follow the end of the stream", answer);
      const end = connectEndOf(data, answer);
      return { ...end, messages };
    }
    messages.push(decodeMessage(codec, output, data, answer));
  }
  if (answer.stillOpen) return { code: "open", message: "", messages };
  return malformed("a Connect stream ended without its end-of-stream message", answer);
}

function connectEndOf(data: Uint8Array, answer: WireAnswer): ReadAnswer {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    malformed("an end-of-stream message is not JSON", answer);
  }
  const error = (json as { error?: unknown }).error;
  if (error === undefined) return { code: "ok", message: "", messages: [] };
  return connectErrorOf(Buffer.from(JSON.stringify(error)), answer, undefined);
}

function readGrpc(codec: Codec, output: DescMessage, answer: WireAnswer, web: boolean): ReadAnswer {
  const family = web ? "application/grpc-web" : "application/grpc";
  const contentType = answer.headers["content-type"] ?? "";
  if (answer.status !== 200) malformed("a gRPC answer must be HTTP 200", answer);
  if (!contentType.startsWith(family) || (!web && contentType.startsWith("application/grpc-web"))) malformed(`a ${family} answer has another content type`, answer);
  const encoding = answer.headers["grpc-encoding"];
  let fields: Record<string, string> | undefined = answer.headers["grpc-status"] !== undefined ? answer.headers : undefined;
  const messages: Message[] = [];
  for (const envelope of envelopesOf(answer)) {
    const data = (envelope.flags & COMPRESSED_FLAG) === 0 ? envelope.data : inflate(envelope.data, encoding ?? "none", answer);
    if (web && (envelope.flags & GRPC_WEB_TRAILER_FLAG) !== 0) {
      if (fields !== undefined) malformed("a gRPC-web answer has two sets of trailers", answer);
      fields = trailerBlockOf(data);
      continue;
    }
    if (fields !== undefined) malformed("a message follows the status", answer);
    messages.push(decodeMessage(codec, output, data, answer));
  }
  if (!web) fields ??= answer.trailers["grpc-status"] !== undefined ? answer.trailers : undefined;
  if (fields === undefined) {
    if (answer.stillOpen) return { code: "open", message: "", messages };
    return malformed("a gRPC answer ended without grpc-status", answer);
  }
  const status = fields["grpc-status"] ?? "";
  if (!/^\d{1,2}$/.test(status) || Number(status) > Code.Unauthenticated) malformed(`grpc-status ${status} is not a status`, answer);
  const code = Number(status) === 0 ? "ok" : codeToString(Number(status) as Code);
  return { code, message: decodeURIComponentSafe(fields["grpc-message"] ?? ""), messages };
}

function trailerBlockOf(data: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of Buffer.from(data).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return fields;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
