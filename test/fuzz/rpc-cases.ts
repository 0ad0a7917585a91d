// One fuzz case against the balancer: which protocol, which public method, whose account, and
// what is wrong with it (its message, its envelope, its headers, how the stream ends, how many
// streams at once). rpcCaseArbitrary is what fast-check generates and shrinks; buildCase turns a spec into
// the bytes on the wire and the oracle: the codes the answer may carry, given its faults.
import { toBinary, toJson, toJsonString, type DescMethod, type Message } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { accountIdProblem } from "../../src/core/account-id.ts";
import { MESSAGE_BYTES_MAX } from "../../src/rpc/rpc-limits.ts";
import type { CallerProtocol, Codec } from "./answer-shape.ts";
import { CaseOracle } from "./case-oracle.ts";
import { ENVELOPE_DAMAGES, envelopesOf, type EnvelopeDamage } from "./envelope-damage.ts";
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
  /** HTTP/1.1 bodies sent chunked, in pieces of this many bytes (0: whole, with a Content-Length). */
  chunkBytes: number;
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
          { weight: 1, arbitrary: fc.constantFrom(...ENVELOPE_DAMAGES) },
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
        chunkBytes: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 7, 4096, 65_536) }),
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
  /**
   * For a read of the victim sent whole and unharmed: the request as Connect JSON, whose answer
   * (from the balancer's main path) this case's answer must equal, whatever its protocol.
   */
  parityRequest: string | undefined;
}

/** A URL longer than this may be refused as a huge header rather than answered. */
const URL_BYTES_POLICY = 16 * 1024;
/** Bytes sent at once on one HTTP/2 connection from which its flood guard may end it. */
const BULK_UPLOAD_BYTES = 4 * 1024 * 1024;
/** The most pieces a chunked body is sent in. */
const CHUNKS_MAX = 4096;
/** A header value past what servers take in one header list (Node's default is 16 KiB). */
const HUGE_HEADER_BYTES = 100_000;

export interface CaseContext {
  key: ApiKey;
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
  const oracle = new CaseOracle(!(protocol.family !== "connect" && spec.envelope === "no-message"));
  const ending: StreamEnding = protocol.http === "2" && !protocol.get ? spec.ending : "end";
  protocolFaults(protocol, method, oracle);
  const message = messageOf(spec, protocol, method, oracle);
  const head = headersOf(spec, protocol, context, message, oracle);
  const { body, path } = bodyOf(spec, protocol, method, ending, message, head.encoding, oracle);
  const allowed = oracle.allowed(method.name === "StreamTradeUpdates");
  const readOnly = isReadOnly(method) || method.name === "StreamTradeUpdates";
  const faults = oracle.faults;
  return {
    label: `${protocol.name} ${method.parent.name}.${method.name} → ${spec.target}${faults.length > 0 ? ` [${faults.join("; ")}]` : ""}`,
    protocol,
    method,
    answerProtocol: head.answerProtocol,
    request: {
      http: protocol.http,
      method: protocol.get ? "GET" : "POST",
      path,
      headers: head.headers,
      body,
      ending,
      mayStayOpen: allowed.has("open"),
      // One byte at a time is for small bodies; a large one goes in larger pieces.
      chunkBytes: protocol.http === "1.1" && spec.chunkBytes > 0 ? Math.max(spec.chunkBytes, Math.ceil(body.length / CHUNKS_MAX)) : 0,
    },
    streams: protocol.http === "2" ? spec.streams : 1,
    allowed,
    faults,
    touchesVictim: spec.target === "victim" && !readOnly,
    // A GET carries its message in the URL, a header: a long one is a huge header too. Bulk
    // uploads on one HTTP/2 connection (many at once, or over the size limit) may trip its flood
    // guard: DATA still in flight when a refused stream is reset counts as invalid frames, and
    // past SESSION_INVALID_FRAMES_MAX the server ends the connection (ENHANCE_YOUR_CALM).
    policyClose:
      spec.header === "huge-header" ||
      (protocol.get && path.length > URL_BYTES_POLICY) ||
      (protocol.http === "2" && (spec.oversize || (spec.streams > 1 && spec.streams * body.length >= BULK_UPLOAD_BYTES))),
    clientReset: ending === "reset-mid-body",
    parityRequest: paritySubject(spec, protocol, method, ending, oracle) ? toJsonString(method.input, spec.message) : undefined,
  };
}

/**
 * A read of the victim (whose state no case changes) that reached the server as generated: its
 * answer is known from another protocol. Not ListAssets (quotes move) nor live streams.
 */
function paritySubject(spec: RpcCaseSpec, protocol: ProtocolSpec, method: DescMethod, ending: StreamEnding, oracle: CaseOracle): boolean {
  const unharmed = (protocol.codec === "proto" ? spec.protobuf.kind : spec.json.kind) === "none" && spec.envelope === "none" && !spec.oversize && spec.header === "none" && spec.key === "cluster";
  return spec.target === "victim" && isReadOnly(method) && method.parent.name !== "AssetService" && unharmed && ending === "end" && !oracle.sure;
}

/** The protocol and the method: the balancer serves some pairs only. */
function protocolFaults(protocol: ProtocolSpec, method: DescMethod, oracle: CaseOracle): void {
  const streamingMethod = method.methodKind !== "unary";
  if (protocol.get && !isReadOnly(method)) oracle.fault("GET of a method with side effects", Code.Unimplemented);
  if (protocol.family === "connect" && streamingMethod) oracle.fault("a streaming method called as Connect unary", Code.Unimplemented, Code.InvalidArgument);
  if (method.methodKind === "bidi_streaming" && protocol.http === "1.1") oracle.fault("a bidi stream over HTTP/1.1", Code.Unimplemented);
  if (method.methodKind === "bidi_streaming" && protocol.family === "grpc-web") oracle.fault("a bidi stream over gRPC-web", Code.Unimplemented);
  if (protocol.family === "connect-stream" && !streamingMethod) oracle.fault("a unary method called as a Connect stream", Code.Unimplemented, Code.InvalidArgument);
}

/** The message's bytes in the protocol's codec, mutated as the spec says. */
function messageOf(spec: RpcCaseSpec, protocol: ProtocolSpec, method: DescMethod, oracle: CaseOracle): Uint8Array {
  let message: Uint8Array;
  if (protocol.codec === "proto") {
    // Protobuf text is UTF-8: a lone surrogate cannot be encoded (JSON can escape one, so JSON keeps them).
    const mutated = mutateProtobuf(method.input, toBinary(method.input, wellFormed(spec.message)), spec.protobuf);
    message = mutated.bytes;
    // protobuf-es (under connect-es) reads some known fields sent with another wire type; our
    // generated codec refuses them. Only where ours reads is that a sure refusal.
    const lenient = spec.protobuf.kind === "wrong-wire-type" && !readByOwnCodec(protocol, method);
    if (mutated.refused && !lenient) oracle.messageFault(`protobuf ${spec.protobuf.kind}`, Code.InvalidArgument);
  } else {
    const mutated = mutateJson(method.input, toJson(method.input, spec.message) as Record<string, unknown>, spec.json);
    message = mutated.bytes;
    if (mutated.refused) oracle.messageFault(`JSON ${spec.json.kind}`, Code.InvalidArgument);
  }
  if (spec.oversize) {
    message = Buffer.concat([message, Buffer.alloc(MESSAGE_BYTES_MAX + 1 - message.length, 0x20)]);
    oracle.messageFault("message over the size limit", Code.ResourceExhausted, Code.InvalidArgument);
  }
  // An id no account can have is refused whatever else the message says (CreateAccount names a
  // new account itself when given none). Known only when the message went as generated.
  const accountId = (spec.message as { accountId?: unknown }).accountId;
  const sentAsGenerated = (protocol.codec === "proto" ? spec.protobuf.kind === "none" : spec.json.kind === "none") && spec.envelope === "none" && !spec.oversize;
  if (sentAsGenerated && typeof accountId === "string" && accountIdProblem(accountId) !== null && !(method.name === "CreateAccount" && accountId === "")) {
    oracle.messageFault("an account id no account can have", Code.InvalidArgument);
  }
  return message;
}

interface CaseHeaders {
  headers: Record<string, string>;
  /** The encoding the request names, if any. */
  encoding: string | undefined;
  answerProtocol: CallerProtocol;
}

/** The request's headers: the caller's key, the content type, encoding and deadline, damaged as the spec says. */
function headersOf(spec: RpcCaseSpec, protocol: ProtocolSpec, context: CaseContext, message: Uint8Array, oracle: CaseOracle): CaseHeaders {
  const headers: Record<string, string> = { ...callerHeaders(keyOf(spec.key, context.key)) };
  if (spec.key !== "cluster") {
    oracle.fault(`API key ${spec.key}`, Code.Unauthenticated);
    // connect-es reads a message before any interceptor sees the call: a damaged one may be refused first.
    if ((protocol.codec === "proto" ? spec.protobuf.kind : spec.json.kind) !== "none") oracle.maybe(Code.InvalidArgument);
  }
  const grpcFamily = protocol.family === "grpc" || protocol.family === "grpc-web";
  let contentType = contentTypeOf(protocol);
  let encoding: string | undefined = spec.gzip ? "gzip" : undefined;
  let answerProtocol: CallerProtocol = protocol.family;
  switch (spec.header) {
    case "none":
    case "huge-header":
      break;
    case "timeout-garbage":
      headers[timeoutHeader(protocol)] = grpcFamily ? "12x" : "soon";
      oracle.fault("a malformed timeout", Code.InvalidArgument);
      break;
    case "timeout-tiny":
      headers[timeoutHeader(protocol)] = grpcFamily ? "1m" : "1";
      oracle.tinyTimeout = true;
      break;
    case "timeout-huge":
      headers[timeoutHeader(protocol)] = grpcFamily ? "99999999H" : "9999999999";
      oracle.fault("a timeout over the maximum", Code.InvalidArgument);
      break;
    case "unknown-encoding":
      encoding = "br-fuzz";
      oracle.fault("an unknown encoding", Code.Unimplemented);
      break;
    case "gzip-not-gzip":
      encoding = "gzip";
      // Envelopes say per message whether they are compressed: the header alone breaks nothing.
      // An empty body is the empty message whatever its encoding says (and with headers only no body goes).
      if (protocol.family === "connect" && message.length > 0) oracle.bodyFault("gzip declared, plain bytes sent", Code.InvalidArgument);
      break;
    case "content-type-wrong":
      // A GET sends no content type at all.
      if (protocol.get) break;
      contentType = "text/plain";
      answerProtocol = "connect";
      oracle.fault("a content type no protocol has", Code.InvalidArgument, Code.Unimplemented);
      break;
    case "protocol-version":
      // A GET says its version in the query (connect=v1), set in bodyOf.
      if (protocol.get) oracle.fault("a Connect protocol version other than v1", Code.InvalidArgument);
      else if (protocol.family === "connect" || protocol.family === "connect-stream") {
        headers["connect-protocol-version"] = "2";
        oracle.fault("a Connect protocol version other than 1", Code.InvalidArgument);
      }
      break;
  }
  if (spec.header === "huge-header") headers["x-fuzz-padding"] = "a".repeat(HUGE_HEADER_BYTES);
  if (!protocol.get) {
    headers["content-type"] = contentType;
    if (encoding !== undefined) headers[encodingHeaderOf(protocol)] = encoding;
  }
  return { headers, encoding, answerProtocol };
}

/** The body (the message itself for Connect unary, envelopes for the rest) or, for a GET, the path with its query. */
function bodyOf(spec: RpcCaseSpec, protocol: ProtocolSpec, method: DescMethod, ending: StreamEnding, message: Uint8Array, encoding: string | undefined, oracle: CaseOracle): { body: Uint8Array; path: string } {
  const compressed = spec.gzip && spec.header !== "gzip-not-gzip" && encoding === "gzip";
  const payload = compressed ? gzipSync(message) : message;
  const usesEnvelopes = protocol.family !== "connect";
  if (protocol.get) {
    const version = spec.header === "protocol-version" ? "v2" : "v1";
    const query = new URLSearchParams({ encoding: protocol.codec, base64: "1", connect: version, message: base64Encode(payload, "url") });
    if (encoding !== undefined) query.set("compression", encoding);
    oracle.bodySent();
    return { body: new Uint8Array(0), path: `${pathOf(method)}?${query.toString()}` };
  }
  const takesOne = method.methodKind !== "bidi_streaming";
  const body = usesEnvelopes ? envelopesOf(spec.envelope, { payload, compressed, encodingDeclared: encoding !== undefined, takesOne }, oracle) : payload;
  if (ending !== "headers-only") {
    oracle.bodySent();
    return { body, path: pathOf(method) };
  }
  // An empty body said to be gzip: our Connect path refuses it (no gzip stream), connect-es reads the empty message.
  if (!usesEnvelopes && encoding !== undefined) oracle.maybe(Code.InvalidArgument);
  if (usesEnvelopes && takesOne) oracle.fault("no message for a method that takes one", Code.InvalidArgument, Code.Unimplemented);
  return { body: new Uint8Array(0), path: pathOf(method) };
}

/** Where the balancer's own paths read the request (Connect unary of the account and order methods, SubmitOrders streams). */
function readByOwnCodec(protocol: ProtocolSpec, method: DescMethod): boolean {
  if (method.name === "SubmitOrders") return protocol.http === "2" && (protocol.family === "grpc" || protocol.family === "connect-stream");
  return protocol.family === "connect" && method.methodKind === "unary" && method.parent.name !== "AssetService";
}

function keyOf(use: KeyUse, key: ApiKey): ApiKey | undefined {
  switch (use) {
    case "cluster":
      return key;
    case "missing":
      return undefined;
    case "wrong":
      return { id: key.id, secret: "not-the-secret" };
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

function encodingHeaderOf(protocol: ProtocolSpec): string {
  if (protocol.family === "connect") return "content-encoding";
  return protocol.family === "connect-stream" ? "connect-content-encoding" : "grpc-encoding";
}

function timeoutHeader(protocol: ProtocolSpec): string {
  return protocol.family === "grpc" || protocol.family === "grpc-web" ? "grpc-timeout" : "connect-timeout-ms";
}
