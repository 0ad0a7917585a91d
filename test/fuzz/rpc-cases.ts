// One fuzz case against the balancer: which protocol, which public method, whose account, and
// what is wrong with it (its message, its envelope, its headers, how the stream ends, how many
// streams at once). specOf is what fast-check generates and shrinks; buildCase turns a spec into
// the bytes on the wire and the oracle: the codes the answer may carry, given its faults.
import { toBinary, toJson, type DescMethod, type Message } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { accountIdProblem } from "../../src/core/account-id.ts";
import { MESSAGE_BYTES_MAX } from "../../src/rpc/rpc-limits.ts";
import type { CallerProtocol, Codec } from "./answer-shape.ts";
import { PLAYGROUND_ACCOUNT, VICTIM_ACCOUNT } from "./fuzz-cluster.ts";
import { jsonMutationArbitrary, mutateJson, type JsonMutation } from "./json-mutations.ts";
import { awkwardText, messageArbitrary } from "./message-arbitraries.ts";
import { mutateProtobuf, protobufMutationArbitrary, type ProtobufMutation } from "./protobuf-mutations.ts";
import { isReadOnly, pathOf, PUBLIC_METHODS } from "./public-methods.ts";
import { callerHeaders, type ApiKey } from "./request-headers.ts";
import type { HttpVersion, StreamEnding, WireRequest } from "./wire-exchange.ts";

/** Every way the balancer is spoken to: protocol family, codec, HTTP version, GET or POST. */
export const PROTOCOLS = [
  { name: "connect-proto-h1", family: "connect", codec: "proto", http: "1.1", get: false },
  { name: "connect-json-h1", family: "connect", codec: "json", http: "1.1", get: false },
  { name: "connect-proto-h2", family: "connect", codec: "proto", http: "2", get: false },
  { name: "connect-json-h2", family: "connect", codec: "json", http: "2", get: false },
  { name: "connect-get-proto-h1", family: "connect", codec: "proto", http: "1.1", get: true },
  { name: "connect-get-json-h2", family: "connect", codec: "json", http: "2", get: true },
  { name: "connect-stream-proto-h2", family: "connect-stream", codec: "proto", http: "2", get: false },
  { name: "connect-stream-json-h2", family: "connect-stream", codec: "json", http: "2", get: false },
  { name: "connect-stream-proto-h1", family: "connect-stream", codec: "proto", http: "1.1", get: false },
  { name: "grpc-proto-h2", family: "grpc", codec: "proto", http: "2", get: false },
  { name: "grpc-json-h2", family: "grpc", codec: "json", http: "2", get: false },
  { name: "grpc-web-proto-h1", family: "grpc-web", codec: "proto", http: "1.1", get: false },
  { name: "grpc-web-proto-h2", family: "grpc-web", codec: "proto", http: "2", get: false },
  { name: "grpc-web-json-h1", family: "grpc-web", codec: "json", http: "1.1", get: false },
] as const satisfies readonly { name: string; family: CallerProtocol; codec: Codec; http: HttpVersion; get: boolean }[];
export type ProtocolSpec = (typeof PROTOCOLS)[number];

export type EnvelopeDamage = "none" | "length-beyond" | "compressed-no-encoding" | "odd-flags" | "header-cut" | "two-messages" | "no-message" | "declared-oversize";
export type HeaderDamage = "none" | "timeout-garbage" | "timeout-tiny" | "timeout-huge" | "unknown-encoding" | "gzip-not-gzip" | "content-type-wrong" | "protocol-version" | "huge-header";
export type KeyUse = "cluster" | "missing" | "wrong" | "malformed";

export interface RpcCaseSpec {
  protocol: number;
  method: number;
  target: "victim" | "playground" | "stranger";
  message: Message;
  protobuf: ProtobufMutation;
  json: JsonMutation;
  envelope: EnvelopeDamage;
  header: HeaderDamage;
  ending: StreamEnding;
  gzip: boolean;
  /** Streams sent at once on one HTTP/2 session (1 on HTTP/1.1). */
  streams: number;
  key: KeyUse;
  oversize: boolean;
}

export function rpcCaseArbitrary(stranger = awkwardText): fc.Arbitrary<RpcCaseSpec> {
  return fc
    .record({ method: fc.nat({ max: PUBLIC_METHODS.length - 1 }), target: fc.constantFrom("victim" as const, "playground" as const, "stranger" as const), stranger })
    .chain(({ method, target, stranger: strangerId }) => {
      const desc = PUBLIC_METHODS[method] as DescMethod;
      const accountId = target === "victim" ? VICTIM_ACCOUNT : target === "playground" ? PLAYGROUND_ACCOUNT : strangerId;
      return fc.record({
        protocol: fc.nat({ max: PROTOCOLS.length - 1 }),
        method: fc.constant(method),
        target: fc.constant(target),
        message: messageArbitrary(desc.input, accountId),
        protobuf: fc.oneof({ weight: 2, arbitrary: fc.constant({ kind: "none" as const }) }, { weight: 3, arbitrary: protobufMutationArbitrary }),
        json: fc.oneof({ weight: 2, arbitrary: fc.constant({ kind: "none" as const }) }, { weight: 3, arbitrary: jsonMutationArbitrary }),
        envelope: fc.oneof(
          { weight: 6, arbitrary: fc.constant("none" as const) },
          { weight: 1, arbitrary: fc.constantFrom("length-beyond" as const, "compressed-no-encoding" as const, "odd-flags" as const, "header-cut" as const, "two-messages" as const, "no-message" as const, "declared-oversize" as const) },
        ),
        header: fc.oneof(
          { weight: 6, arbitrary: fc.constant("none" as const) },
          { weight: 1, arbitrary: fc.constantFrom("timeout-garbage" as const, "timeout-tiny" as const, "timeout-huge" as const, "unknown-encoding" as const, "gzip-not-gzip" as const, "content-type-wrong" as const, "protocol-version" as const, "huge-header" as const) },
        ),
        ending: fc.oneof({ weight: 10, arbitrary: fc.constant("end" as const) }, { weight: 1, arbitrary: fc.constantFrom("reset-mid-body" as const, "headers-only" as const) }),
        gzip: fc.boolean(),
        streams: fc.oneof({ weight: 30, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 200 }) }),
        key: fc.oneof({ weight: 12, arbitrary: fc.constant("cluster" as const) }, { weight: 1, arbitrary: fc.constantFrom("missing" as const, "wrong" as const, "malformed" as const) }),
        oversize: fc.oneof({ weight: 60, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      });
    });
}

/** A case on the wire, with what its answer may be. */
export interface RpcCase {
  label: string;
  protocol: ProtocolSpec;
  method: DescMethod;
  /** The protocol the answer must be in: the caller's, unless its content type hides it. */
  answerProtocol: CallerProtocol;
  request: WireRequest;
  streams: number;
  /** Codes the answer may carry ("ok" included when nothing is surely wrong); "open" for live streams. */
  allowed: ReadonlySet<string>;
  /** The faults the oracle saw, for the report. */
  faults: readonly string[];
  /** Whether this case aims a changing call at the victim, whose state must then be unchanged. */
  touchesVictim: boolean;
  /** The server may end this stream or connection by policy instead of answering (huge headers). */
  policyClose: boolean;
  /** The client resets the stream itself: no answer is expected. */
  clientReset: boolean;
}

/** A URL longer than this may be refused as a huge header rather than answered. */
const URL_BYTES_POLICY = 16 * 1024;
/** Bytes sent at once on one HTTP/2 connection from which its flood guard may end it. */
const BULK_UPLOAD_BYTES = 4 * 1024 * 1024;
const FATAL = new Set([Code.Internal, Code.Unknown, Code.DataLoss].map(codeToString));
const ALL_CODES = Object.values(Code).filter((value): value is Code => typeof value === "number" && value !== Code.Canceled).map((code) => codeToString(code));
const c = (code: Code) => codeToString(code);

export interface CaseContext {
  key: ApiKey | undefined;
}

/**
 * The case of `spec`. The victim only receives changing calls that are surely refused: one that
 * might be accepted goes to the playground account instead, so that the victim's state must stay
 * exactly as it was.
 */
export function buildCase(spec: RpcCaseSpec, context: CaseContext): RpcCase {
  const built = buildAsSpecified(spec, context);
  if (spec.target !== "victim" || !built.touchesVictim || !built.allowed.has("ok")) return built;
  return buildAsSpecified({ ...spec, target: "playground", message: retargeted(spec.message) }, context);
}

/** A copy of `message` whose strings are well-formed UTF-16 (each lone surrogate made U+FFFD). */
function wellFormed(message: Message): Message {
  // structuredClone, not protobuf-es's clone, which refuses the very strings this repairs.
  const copy = structuredClone(message);
  const visit = (node: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(node)) {
      if (typeof value === "string") node[name] = value.toWellFormed();
      else if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) visit(value as Record<string, unknown>);
    }
  };
  visit(copy as unknown as Record<string, unknown>);
  return copy;
}

/** A copy of `message` with every account_id that names the victim naming the playground. */
function retargeted(message: Message): Message {
  const copy = structuredClone(message);
  const visit = (node: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(node)) {
      if (name === "accountId" && value === VICTIM_ACCOUNT) node[name] = PLAYGROUND_ACCOUNT;
      else if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) visit(value as Record<string, unknown>);
    }
  };
  visit(copy as unknown as Record<string, unknown>);
  return copy;
}

function buildAsSpecified(spec: RpcCaseSpec, context: CaseContext): RpcCase {
  const protocol = PROTOCOLS[spec.protocol] as ProtocolSpec;
  const method = PUBLIC_METHODS[spec.method] as DescMethod;
  const faults: string[] = [];
  /** Codes each fault may be refused with; the answer carries one of them (the first check to fail wins). */
  const refusals: Code[][] = [];
  const fault = (name: string, ...codes: Code[]) => {
    faults.push(name);
    refusals.push(codes);
  };
  // Faults of the message and its envelopes count only if a body is sent (not with headers only).
  const bodyFaults: [string, Code[]][] = [];
  /** Codes a path may rightly answer without the case being surely refused. */
  const maybe: Code[] = [];
  const bodyFault = (name: string, ...codes: Code[]) => void bodyFaults.push([name, codes]);
  // With no envelope at all, the message's own faults never reach the server.
  const messageSent = !(protocol.family !== "connect" && spec.envelope === "no-message");
  const messageFault = (name: string, ...codes: Code[]) => {
    if (messageSent) bodyFault(name, ...codes);
  };
  const readOnly = isReadOnly(method) || method.name === "StreamTradeUpdates";
  const streamingMethod = method.methodKind !== "unary";
  const usesEnvelopes = protocol.family !== "connect";
  const ending: StreamEnding = protocol.http === "2" && !protocol.get ? spec.ending : "end";

  // The protocol and the method: the balancer serves some pairs only.
  if (protocol.get && !isReadOnly(method)) fault("GET of a method with side effects", Code.Unimplemented);
  if (protocol.family === "connect" && streamingMethod) fault("a streaming method called as Connect unary", Code.Unimplemented, Code.InvalidArgument);
  if (method.methodKind === "bidi_streaming" && protocol.http === "1.1") fault("a bidi stream over HTTP/1.1", Code.Unimplemented);
  if (method.methodKind === "bidi_streaming" && protocol.family === "grpc-web") fault("a bidi stream over gRPC-web", Code.Unimplemented);
  if (protocol.family === "connect-stream" && !streamingMethod) fault("a unary method called as a Connect stream", Code.Unimplemented, Code.InvalidArgument);

  // The message.
  let message: Uint8Array;
  if (protocol.codec === "proto") {
    // Protobuf text is UTF-8: a lone surrogate cannot be encoded (JSON can escape one, so JSON keeps them).
    const mutated = mutateProtobuf(method.input, toBinary(method.input, wellFormed(spec.message)), spec.protobuf);
    message = mutated.bytes;
    // protobuf-es (under connect-es) reads some known fields sent with another wire type; our
    // generated codec refuses them. Only where ours reads is that a sure refusal.
    const lenient = spec.protobuf.kind === "wrong-wire-type" && !readByOwnCodec(protocol, method);
    if (mutated.refused && !lenient) messageFault(`protobuf ${spec.protobuf.kind}`, Code.InvalidArgument);
  } else {
    const valid = toJson(method.input, spec.message) as Record<string, unknown>;
    const mutated = mutateJson(method.input, valid, spec.json);
    message = mutated.bytes;
    if (mutated.refused) messageFault(`JSON ${spec.json.kind}`, Code.InvalidArgument);
  }
  if (spec.oversize) {
    message = Buffer.concat([message, Buffer.alloc(MESSAGE_BYTES_MAX + 1 - message.length, 0x20)]);
    messageFault("message over the size limit", Code.ResourceExhausted, Code.InvalidArgument);
  }

  // The account: an id no account can have is refused whatever else the message says (CreateAccount
  // names a new account itself when given none). Known only when the message went as generated.
  const accountId = (spec.message as { accountId?: unknown }).accountId;
  const sentAsGenerated = (protocol.codec === "proto" ? spec.protobuf.kind === "none" : spec.json.kind === "none") && spec.envelope === "none" && !spec.oversize;
  if (sentAsGenerated && typeof accountId === "string" && accountIdProblem(accountId) !== null && !(method.name === "CreateAccount" && accountId === "")) {
    messageFault("an account id no account can have", Code.InvalidArgument);
  }

  // The headers.
  const headers: Record<string, string> = { ...callerHeaders(keyOf(spec.key, context.key)) };
  if (spec.key !== "cluster" && context.key !== undefined) {
    fault(`API key ${spec.key}`, Code.Unauthenticated);
    // connect-es reads a message before any interceptor sees the call: a damaged one may be refused first.
    if ((protocol.codec === "proto" ? spec.protobuf.kind : spec.json.kind) !== "none") maybe.push(Code.InvalidArgument);
  }
  let contentType = contentTypeOf(protocol);
  const compress = spec.gzip && spec.header !== "gzip-not-gzip";
  const encodingHeader = protocol.family === "connect" ? "content-encoding" : protocol.family === "connect-stream" ? "connect-content-encoding" : "grpc-encoding";
  let encoding: string | undefined = spec.gzip ? "gzip" : undefined;
  let answerProtocol: CallerProtocol = protocol.family;
  let tinyTimeout = false;
  switch (spec.header) {
    case "none":
      break;
    case "timeout-garbage":
      headers[timeoutHeader(protocol)] = protocol.family === "grpc" || protocol.family === "grpc-web" ? "12x" : "soon";
      fault("a malformed timeout", Code.InvalidArgument);
      break;
    case "timeout-tiny":
      headers[timeoutHeader(protocol)] = protocol.family === "grpc" || protocol.family === "grpc-web" ? "1m" : "1";
      tinyTimeout = true;
      break;
    case "timeout-huge":
      headers[timeoutHeader(protocol)] = protocol.family === "grpc" || protocol.family === "grpc-web" ? "99999999H" : "9999999999";
      fault("a timeout over the maximum", Code.InvalidArgument);
      break;
    case "unknown-encoding":
      encoding = "br-fuzz";
      fault("an unknown encoding", Code.Unimplemented);
      break;
    case "gzip-not-gzip":
      encoding = "gzip";
      // Envelopes say per message whether they are compressed: the header alone breaks nothing.
      // An empty body is the empty message whatever its encoding says.
      if (!usesEnvelopes && message.length > 0) fault("gzip declared, plain bytes sent", Code.InvalidArgument);
      break;
    case "content-type-wrong":
      // A GET sends no content type at all.
      if (protocol.get) break;
      contentType = "text/plain";
      answerProtocol = "connect";
      fault("a content type no protocol has", Code.InvalidArgument, Code.Unimplemented);
      break;
    case "protocol-version":
      // A GET says its version in the query (connect=v1), set below.
      if (protocol.get) fault("a Connect protocol version other than v1", Code.InvalidArgument);
      else if (protocol.family === "connect" || protocol.family === "connect-stream") {
        headers["connect-protocol-version"] = "2";
        fault("a Connect protocol version other than 1", Code.InvalidArgument);
      }
      break;
    case "huge-header":
      headers["x-fuzz-padding"] = "a".repeat(100_000);
      break;
  }
  if (encoding !== undefined && !protocol.get) headers[encodingHeader] = encoding;

  // The body: the message itself (Connect unary), in the query (GET), or in envelopes.
  let body: Uint8Array = new Uint8Array(0);
  let path = pathOf(method);
  const payload = compress && encoding === "gzip" ? gzipSync(message) : message;
  if (protocol.get) {
    const version = spec.header === "protocol-version" ? "v2" : "v1";
    const query = new URLSearchParams({ encoding: protocol.codec, base64: "1", connect: version, message: base64Encode(payload, "url") });
    if (encoding !== undefined) query.set("compression", encoding);
    path = `${path}?${query.toString()}`;
  } else if (!usesEnvelopes) {
    body = payload;
  } else {
    body = envelopesOf(spec, payload, compress && encoding === "gzip", encoding !== undefined, bodyFault, method.methodKind !== "bidi_streaming");
  }
  if (ending === "headers-only") {
    body = new Uint8Array(0);
    // An empty body said to be gzip: our Connect path refuses it (no gzip stream), connect-es reads the empty message.
    if (!usesEnvelopes && encoding !== undefined) maybe.push(Code.InvalidArgument);
    if (usesEnvelopes && method.methodKind !== "bidi_streaming") fault("no message for a method that takes one", Code.InvalidArgument, Code.Unimplemented);
  } else {
    for (const [name, codes] of bodyFaults) fault(name, ...codes);
  }
  if (!protocol.get) headers["content-type"] = contentType;

  const allowed = new Set<string>();
  const sure = refusals.length > 0;
  if (sure) for (const codes of refusals) for (const code of codes) allowed.add(c(code));
  else for (const code of ALL_CODES) allowed.add(code);
  if (!sure) allowed.add("ok");
  for (const code of maybe) allowed.add(c(code));
  if (!tinyTimeout) allowed.delete(c(Code.DeadlineExceeded));
  else allowed.add(c(Code.DeadlineExceeded));
  // Service can always be unavailable (a node restarting) without the input being at fault.
  allowed.add(c(Code.Unavailable));
  if (method.name === "StreamTradeUpdates" && !sure) allowed.add("open");
  // A fault whose protocol prescribes INTERNAL may have it; nothing else may.
  const prescribed = new Set(refusals.flat().map(c));
  for (const fatal of FATAL) if (!prescribed.has(fatal)) allowed.delete(fatal);

  const touchesVictim = spec.target === "victim" && !readOnly;
  const label = `${protocol.name} ${method.parent.name}.${method.name} → ${spec.target}${faults.length > 0 ? ` [${faults.join("; ")}]` : ""}`;
  return {
    label,
    protocol,
    method,
    answerProtocol,
    request: { http: protocol.http, method: protocol.get ? "GET" : "POST", path, headers, body, ending, mayStayOpen: allowed.has("open") },
    streams: protocol.http === "2" ? spec.streams : 1,
    allowed,
    faults,
    touchesVictim,
    // A GET carries its message in the URL, a header: a long one is a huge header too. Bulk
    // uploads on one HTTP/2 connection (many at once, or over the size limit) may trip its flood
    // guard: DATA still in flight when a refused stream is reset counts as invalid frames, and
    // past SESSION_INVALID_FRAMES_MAX the server ends the connection (ENHANCE_YOUR_CALM).
    policyClose:
      spec.header === "huge-header" ||
      (protocol.get && path.length > URL_BYTES_POLICY) ||
      (protocol.http === "2" && (spec.oversize || (spec.streams > 1 && spec.streams * body.length >= BULK_UPLOAD_BYTES))),
    clientReset: ending === "reset-mid-body",
  };
}

/** Where the balancer's own paths read the request (Connect unary of the account and order methods, SubmitOrders streams). */
function readByOwnCodec(protocol: ProtocolSpec, method: DescMethod): boolean {
  if (method.name === "SubmitOrders") return protocol.http === "2" && (protocol.family === "grpc" || protocol.family === "connect-stream");
  return protocol.family === "connect" && method.methodKind === "unary" && method.parent.name !== "AssetService";
}

function keyOf(use: KeyUse, key: ApiKey | undefined): ApiKey | undefined {
  switch (use) {
    case "cluster":
      return key;
    case "missing":
      return undefined;
    case "wrong":
      return { id: key?.id ?? "fuzz-key", secret: "not-the-secret" };
    case "malformed":
      // Printable (a client cannot send a NUL in a header) but not ID:SECRET.
      return { id: "", secret: ":" };
  }
}

function contentTypeOf(protocol: ProtocolSpec): string {
  switch (protocol.family) {
    case "connect":
      return `application/${protocol.codec}`;
    case "connect-stream":
      return `application/connect+${protocol.codec}`;
    case "grpc":
      return protocol.codec === "proto" ? "application/grpc" : "application/grpc+json";
    case "grpc-web":
      return `application/grpc-web+${protocol.codec}`;
  }
}

function timeoutHeader(protocol: ProtocolSpec): string {
  return protocol.family === "grpc" || protocol.family === "grpc-web" ? "grpc-timeout" : "connect-timeout-ms";
}

function envelope(flags: number, data: Uint8Array, declared = data.length): Buffer {
  const bytes = Buffer.alloc(5 + data.length);
  bytes[0] = flags;
  bytes.writeUInt32BE(declared, 1);
  bytes.set(data, 5);
  return bytes;
}

function envelopesOf(spec: RpcCaseSpec, payload: Uint8Array, compressed: boolean, encodingDeclared: boolean, fault: (name: string, ...codes: Code[]) => void, takesOne: boolean): Uint8Array {
  const flags = compressed ? 1 : 0;
  switch (spec.envelope) {
    case "none":
      return envelope(flags, payload);
    case "length-beyond":
      // connect-es may read a cut-off last envelope as no message at all (UNIMPLEMENTED, its code for that).
      fault("an envelope longer than the body", Code.InvalidArgument, Code.Unimplemented);
      return envelope(flags, payload, payload.length + 7);
    case "compressed-no-encoding":
      if (compressed) return envelope(flags, payload);
      // gRPC (grpc-go: "compressed flag set with identity or empty encoding") and Connect
      // (connect-go) both answer INTERNAL here, inside an HTTP 200: the protocols' choice, allowed.
      if (!encodingDeclared) fault("a compressed envelope without an encoding", Code.InvalidArgument, Code.Internal);
      // With gzip declared, plain bytes flagged compressed do not inflate; an empty message may be read as empty (connect-es does).
      else if (payload.length > 0) fault("a compressed envelope that is not gzip", Code.InvalidArgument, Code.Internal);
      return envelope(1, payload);
    case "odd-flags":
      // Flag bits no request may set (end-of-stream and trailer bits, reserved bits).
      return envelope(flags | 0x40, payload);
    case "header-cut":
      fault("a body that ends inside an envelope header", Code.InvalidArgument, Code.Unimplemented);
      return envelope(flags, payload).subarray(0, 3);
    case "two-messages":
      if (takesOne) fault("two messages for a method that takes one", Code.InvalidArgument, Code.Unimplemented);
      return Buffer.concat([envelope(flags, payload), envelope(flags, payload)]);
    case "no-message":
      if (takesOne) fault("no message for a method that takes one", Code.InvalidArgument, Code.Unimplemented);
      return new Uint8Array(0);
    case "declared-oversize":
      fault("an envelope declaring more than the size limit", Code.ResourceExhausted);
      return envelope(flags, payload, MESSAGE_BYTES_MAX + 1).subarray(0, 5 + payload.length);
  }
}
