// OrderService.SubmitOrders: a session of many orders on one HTTP/2 stream, answered on the
// stream itself, in gRPC and in Connect streaming (binary or JSON, gzip either way). This is the
// only implementation: gRPC-web and HTTP/1.1 cannot carry a bidirectional stream, and connect-es
// answers those calls with the error that says to use SubmitOrder (public-services.ts).
// The envelopes are read and written here, each order's bytes go into its node's batched
// Execute as they came (node-link.ts), and each answer is the Order bytes the node encoded:
// connect-es's streaming machinery (async iterables, a promise chain per order) and decoding and
// encoding every Order were over half of the balancer's CPU per streamed order. The contract:
// - each order is checked and routed as SubmitOrder is, and a refusal carries the unary code
//   name and message without ending the stream;
// - answers of one account are written in the order its requests came;
// - at most inFlightMax orders are read and not yet written: beyond, the stream is paused and
//   HTTP/2 flow control holds the client back;
// - when the client ends its side, or sends bytes that are not a SubmitOrdersRequest, the
//   orders in flight are answered, then the stream ends (with invalid_argument for the latter);
// - a deadline, a server shutdown or a client reset ends it at once, without those answers.
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { authorize } from "../auth/authorize.ts";
import type { CallGate } from "../auth/call-gate.ts";
import { nodeHeaderLookup } from "../auth/credentials.ts";
import type { Caller } from "../auth/key-ring.ts";
import { accountIdProblem } from "../core/account-id.ts";
import { OrderService, SubmitOrderRequestSchema } from "../gen/oms/v1/order_service_pb.ts";
import { fieldTag, varintLength, WIRE_LENGTH_DELIMITED, writeVarintAt } from "../rpc/protobuf-wire.ts";
import type { UnaryExchange } from "../rpc/protocol-connect/unary-exchange.ts";
import { EnvelopeReader } from "../rpc/protocol/envelope-reader.ts";
import { StreamAnswer } from "../rpc/protocol/stream-answer.ts";
import { streamWireOf, type StreamWire } from "../rpc/protocol/stream-call.ts";
import { AccountAnswerOrder, type InAccountOrder } from "./account-answer-order.ts";
import type { NodeAnswer } from "./node-answer.ts";
import { encodedNodeCommand, nodeCommandField } from "./node-command-bytes.ts";
import type { SentCommand } from "./node-link.ts";
import {
  encodedRefusal,
  orderAnswerBytes,
  orderOfResponse,
  orderRequestOf,
  writeOrderAnswer,
  type OrderRequest,
} from "./submit-orders-bytes.ts";
import { orderAnswerJson, orderRequestOfJson } from "./submit-orders-json.ts";
import { edgeMetrics } from "../metrics/balancer-metrics.ts";

/**
 * Orders read from one stream and not yet written back. Enough to keep a node's batches full at
 * the rates one client can send (a few ms of orders at 100,000/s); small enough that a stream
 * holds at most a few hundred KiB however its client behaves.
 */
export const STREAM_ORDERS_IN_FLIGHT_MAX = 1024;

const SUBMIT_ORDERS_PATH = `/${OrderService.typeName}/${OrderService.method.submitOrders.name}`;
const SUBMIT_ORDER_COMMAND_FIELD = nodeCommandField("submitOrder");
/** Each order is authorized as a unary SubmitOrder of its account would be. */
const SUBMIT_ORDER_PROCEDURE = `${OrderService.typeName}/${OrderService.method.submitOrder.name}`;
const ACCOUNT_ID_KEY = fieldTag(SubmitOrderRequestSchema.field.accountId.number, WIRE_LENGTH_DELIMITED);

/** Hands one order's command to the node that owns `accountId` (NodeLink.send). */
export type SendOrder = (accountId: string, command: SentCommand) => void;

export interface SubmitOrdersStreams {
  /** Takes the stream and returns true, or returns false for a call that is not ours (gRPC-web, another method). */
  (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, shutdown: AbortSignal): boolean;
  /** Streams taken so far, for tests and metrics. */
  streams: number;
}

export function submitOrdersStreams(send: SendOrder, gate: CallGate, inFlightMax: number = STREAM_ORDERS_IN_FLIGHT_MAX): SubmitOrdersStreams {
  if (!Number.isInteger(inFlightMax) || inFlightMax < 1) throw new Error(`SubmitOrders: inFlightMax must be a positive integer, got ${inFlightMax}`);
  const streams = ((stream: ServerHttp2Stream, headers: IncomingHttpHeaders, shutdown: AbortSignal): boolean => {
    if (headers[":path"] !== SUBMIT_ORDERS_PATH) return false;
    const wire = streamWireOf(headers);
    if (wire === null) return false;
    streams.streams += 1;
    if ("refusal" in wire) {
      refuse(stream, wire.wire, wire.refusal);
      return true;
    }
    const admission = gate.admit(nodeHeaderLookup(headers), stream.session);
    const open = (caller: Caller | ConnectError) => {
      // Gone while its key was verified the first time: nothing to answer, no stream to count.
      if (stream.destroyed || stream.closed) return;
      if (caller instanceof ConnectError) {
        refuse(stream, wire, caller);
        return;
      }
      // Counted from here until the session finishes, however it ends.
      const release = gate.limits.openStream(caller);
      if (release instanceof ConnectError) {
        refuse(stream, wire, release);
        return;
      }
      new OrderStreamSession(stream, wire, send, inFlightMax, shutdown, { caller, gate, release }).start();
    };
    // The stream does not flow until the session reads it, so nothing is lost while a key's first verification runs.
    if (admission instanceof Promise) void admission.then(open);
    else open(admission);
    return true;
  }) as SubmitOrdersStreams;
  streams.streams = 0;
  return streams;
}

export const SUBMIT_ORDERS_NEEDS_HTTP2 =
  "SubmitOrders needs a bidirectional stream: gRPC, or Connect over HTTP/2; over gRPC-web or HTTP/1.1 send each order with the unary SubmitOrder";

/**
 * Every SubmitOrders call the stream path did not take (gRPC-web, anything over HTTP/1.1): it
 * cannot carry a bidirectional stream, so it is refused in its own protocol with what to use.
 */
export function refuseSubmitOrdersWithoutStream(exchange: UnaryExchange): boolean {
  if (exchange.path?.split("?", 1)[0] !== SUBMIT_ORDERS_PATH) return false;
  exchange.readBody(() => exchange.refuse(new ConnectError(SUBMIT_ORDERS_NEEDS_HTTP2, Code.Unimplemented)));
  return true;
}

/** A call refused before its session starts (its headers, its key): ended at once, in the client's own framing (JSON or binary). */
function refuse(stream: ServerHttp2Stream, wire: StreamWire, error: ConnectError): void {
  stream.on("error", () => undefined);
  stream.resume();
  new StreamAnswer(stream, wire).end(error);
}

/** One order of a stream, from its request until its answer is written. */
class OrderSlot implements SentCommand, InAccountOrder<OrderSlot> {
  command: Uint8Array = EMPTY;
  /** An Order's bytes, or an OrderRefusal's if `refused`; null until the answer is known. */
  answer: Uint8Array | null = null;
  refused = false;
  waiting = false;
  nextOfAccount: OrderSlot | null = null;
  /** When its node's answer came back (edgeMetrics.now()), for the answer stage; 0 if the node did not answer it. */
  nodeAnsweredMs = 0;

  constructor(
    private readonly session: OrderStreamSession,
    readonly tag: Uint8Array,
    readonly accountId: string,
    /**
     * What is left of the stream's deadline, or null for none (then the balancer's call
     * timeout): an order the node cannot take up before the stream ends is not decided, since
     * its answer could not be written.
     */
    readonly timeoutMs: number | null,
  ) {}

  get known(): boolean {
    return this.answer !== null;
  }

  resolve(answer: NodeAnswer): void {
    this.nodeAnsweredMs = edgeMetrics.now();
    this.session.answered(this, orderOfAnswer(answer));
  }

  reject(error: ConnectError): void {
    this.session.answered(this, error);
  }
}

const EMPTY = new Uint8Array(0);

/** Who opened a stream, and what its orders are checked and counted against. */
interface StreamKey {
  readonly caller: Caller;
  readonly gate: CallGate;
  /** Gives back the key's stream slot. */
  readonly release: () => void;
}

class OrderStreamSession {
  private readonly reader: EnvelopeReader;
  private readonly answerSide: StreamAnswer;
  /** Read and not yet written: what the bound counts. */
  private inFlight = 0;
  private reading = true;
  private requestEnded = false;
  private paused = false;
  private readError: ConnectError | null = null;
  /** The answer has ended or the client is gone: nothing more is read or written. */
  private finished = false;
  /** Answers whose turn has come, in the order they are to be written. */
  private ready: OrderSlot[] = [];
  private writeScheduled = false;
  private writeBlocked = false;
  private readonly accountOrder = new AccountAnswerOrder<OrderSlot>();
  private deadline: ReturnType<typeof setTimeout> | null = null;
  private readonly onShutdown = () => this.finish(ConnectError.from(this.shutdown.reason, Code.Canceled));
  private readonly writeReady = () => this.write();
  private readonly startedMs = edgeMetrics.now();

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly wire: StreamWire,
    private readonly send: SendOrder,
    private readonly inFlightMax: number,
    private readonly shutdown: AbortSignal,
    private readonly key: StreamKey,
  ) {
    this.reader = new EnvelopeReader(wire);
    this.answerSide = new StreamAnswer(stream, wire);
  }

  start(): void {
    const stream = this.stream;
    // A client that resets its stream must not become an unhandled 'error' that ends the process.
    stream.on("error", () => undefined);
    stream.on("close", () => this.finish(null));
    stream.on("drain", () => {
      this.writeBlocked = false;
      this.write();
    });
    stream.on("data", (chunk: Buffer) => {
      if (!this.reading) return;
      this.reader.push(chunk);
      this.pump();
    });
    stream.on("end", () => {
      this.requestEnded = true;
      this.pump();
    });
    if (this.shutdown.aborted) {
      this.onShutdown();
      return;
    }
    // A deadline already past ends the call before anything is read, as connect-es's does.
    if (this.wire.timeoutMs !== null && this.wire.timeoutMs <= 0) {
      this.finish(new ConnectError("the operation timed out", Code.DeadlineExceeded));
      return;
    }
    this.shutdown.addEventListener("abort", this.onShutdown);
    if (this.wire.timeoutMs !== null) {
      this.deadline = setTimeout(() => this.finish(new ConnectError("the operation timed out", Code.DeadlineExceeded)), this.wire.timeoutMs);
    }
  }

  /** The answer to `slot` is known: it is written when the account's earlier ones have been. */
  answered(slot: OrderSlot, result: Uint8Array | ConnectError): void {
    if (result instanceof ConnectError) {
      slot.refused = true;
      slot.answer = encodedRefusal(result);
    } else {
      slot.answer = result;
    }
    if (this.finished) return;
    this.accountOrder.release(slot, this.ready);
    if (!this.writeScheduled && this.ready.length > 0) {
      this.writeScheduled = true;
      // Answers of one node batch all arrive in one turn: they go out in one write.
      queueMicrotask(this.writeReady);
    }
  }

  /** Reads and sends orders while the bound allows, and pauses the stream when it does not. */
  private pump(): void {
    // The route stage of each order starts when the stream takes it up here.
    const takenUpMs = edgeMetrics.now();
    while (this.reading && this.inFlight < this.inFlightMax) {
      const message = this.reader.next();
      if (message === null) break;
      if (message instanceof ConnectError) {
        this.stopReading(message);
        break;
      }
      let request: OrderRequest;
      try {
        request = this.wire.json ? orderRequestOfJson(message) : orderRequestOf(message);
      } catch (error) {
        this.stopReading(ConnectError.from(error));
        break;
      }
      this.dispatch(request, takenUpMs);
    }
    if (this.reading && this.requestEnded && this.inFlight < this.inFlightMax) this.stopReading(this.reader.leftover());
    const full = this.reading && this.inFlight >= this.inFlightMax;
    if (full !== this.paused && !this.finished) {
      this.paused = full;
      if (full) this.stream.pause();
      else this.stream.resume();
    }
  }

  private dispatch(request: OrderRequest, takenUpMs: number): void {
    // Each order is a call of the key's (rate limit) and is authorized as a unary SubmitOrder;
    // a refusal answers that order and the stream goes on.
    const refusal = this.key.gate.limits.takeCall(this.key.caller);
    const allowed = refusal ?? authorize(this.key.caller, SUBMIT_ORDER_PROCEDURE, request.accountId);
    const accountId = allowed instanceof ConnectError ? request.accountId : allowed.accountId;
    const timeoutMs = this.wire.timeoutMs === null ? null : this.wire.timeoutMs - (edgeMetrics.now() - this.startedMs);
    const slot = new OrderSlot(this, request.tag, accountId, timeoutMs);
    this.accountOrder.enter(slot);
    this.inFlight += 1;
    if (allowed instanceof ConnectError) {
      this.answered(slot, allowed);
      return;
    }
    if (request.order === null) {
      this.answered(slot, new ConnectError("order: is required", Code.InvalidArgument));
      return;
    }
    // The balancer's own check of a unary SubmitOrder (route-command.ts), before routing by it.
    const problem = accountIdProblem(slot.accountId);
    if (problem !== null) {
      this.answered(slot, new ConnectError(problem.message, Code.InvalidArgument));
      return;
    }
    if (request.refusal !== null) {
      this.answered(slot, request.refusal);
      return;
    }
    const order = allowed.implied ? withAccountId(request.order, accountId) : request.order;
    slot.command = encodedNodeCommand(SUBMIT_ORDER_COMMAND_FIELD, order);
    this.send(slot.accountId, slot);
    edgeMetrics.stages.route.observe((edgeMetrics.now() - takenUpMs) / 1000);
  }

  private stopReading(error: ConnectError | null): void {
    this.reading = false;
    this.readError = error;
    // What the client still sends is read and dropped, so that its side can finish.
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
    this.finishIfAnswered();
  }

  /** Every ready answer in one write of enveloped messages. */
  private write(): void {
    this.writeScheduled = false;
    if (this.finished || this.writeBlocked || this.ready.length === 0) return;
    const written = this.ready;
    this.ready = [];
    const envelopes = this.wire.json ? this.jsonEnvelopes(written) : this.binaryEnvelopes(written);
    this.inFlight -= written.length;
    if (!this.answerSide.write(envelopes)) this.writeBlocked = true;
    observeAnswerStage(written);
    this.pump();
    this.finishIfAnswered();
  }

  /** The answers in binary, written in place into one buffer unless one is large enough to compress. */
  private binaryEnvelopes(written: readonly OrderSlot[]): Buffer {
    const compressFrom = this.answerSide.compressFromBytes;
    let total = 0;
    let compressed = false;
    for (const slot of written) {
      const bytes = orderAnswerBytes(slot.tag, slot.answer as Uint8Array);
      total += StreamAnswer.envelopeHeaderBytes + bytes;
      if (bytes >= compressFrom) compressed = true;
    }
    const envelopes = compressed ? this.compressedEnvelopes(written) : Buffer.allocUnsafe(total);
    if (!compressed) {
      let offset = 0;
      for (const slot of written) {
        const start = offset + StreamAnswer.envelopeHeaderBytes;
        offset = writeOrderAnswer(envelopes, start, slot.tag, slot.refused, slot.answer as Uint8Array);
        StreamAnswer.writeEnvelopeHeader(envelopes, start - StreamAnswer.envelopeHeaderBytes, offset - start);
      }
    }
    return envelopes;
  }

  private jsonEnvelopes(written: readonly OrderSlot[]): Buffer {
    return Buffer.concat(written.map((slot) => this.answerSide.envelopeOf(orderAnswerJson(slot.tag, slot.refused, slot.answer as Uint8Array))));
  }

  /** The rare write with an answer large enough to compress: each message on its own. */
  private compressedEnvelopes(slots: readonly OrderSlot[]): Buffer {
    return Buffer.concat(
      slots.map((slot) => {
        const answer = slot.answer as Uint8Array;
        const message = new Uint8Array(orderAnswerBytes(slot.tag, answer));
        writeOrderAnswer(message, 0, slot.tag, slot.refused, answer);
        return this.answerSide.envelopeOf(message);
      }),
    );
  }

  private finishIfAnswered(): void {
    if (!this.reading && this.inFlight === 0) this.finish(this.readError);
  }

  /** Ends the answer (unless the client is gone) and lets go of everything. */
  private finish(error: ConnectError | null): void {
    if (this.finished) return;
    this.finished = true;
    this.reading = false;
    this.key.release();
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.shutdown.removeEventListener("abort", this.onShutdown);
    this.ready = [];
    this.accountOrder.clear();
    this.answerSide.end(error);
    if (this.paused) this.stream.resume();
    edgeMetrics.callEnded(SUBMIT_ORDERS_PATH.slice(1), error?.code ?? null, (edgeMetrics.now() - this.startedMs) / 1000);
  }
}

/**
 * The answer stage of the orders the node answered: from its answer back to the write that
 * carries it, waits for the account's earlier answers and for the stream's flow control included.
 */
function observeAnswerStage(written: readonly OrderSlot[]): void {
  const writtenMs = edgeMetrics.now();
  const answer = edgeMetrics.stages.answer;
  for (const slot of written) if (slot.nodeAnsweredMs > 0) answer.observe((writtenMs - slot.nodeAnsweredMs) / 1000);
}

/**
 * A SubmitOrderRequest's bytes with account_id appended: the key implied it. Protobuf keeps the
 * last value of a repeated scalar field, and the request had none (authorize implies an account
 * only when account_id was empty).
 */
function withAccountId(order: Uint8Array, accountId: string): Uint8Array {
  const text = Buffer.from(accountId, "utf8");
  const field = new Uint8Array(varintLength(ACCOUNT_ID_KEY) + varintLength(text.length) + text.length);
  field.set(text, writeVarintAt(field, writeVarintAt(field, 0, ACCOUNT_ID_KEY), text.length));
  return Buffer.concat([order, field]);
}

/** The Order bytes of a node's answer to SubmitOrder, or its refusal. */
function orderOfAnswer(answer: NodeAnswer): Uint8Array | ConnectError {
  const response = answer.valueOf("submitOrder");
  return response instanceof ConnectError ? response : orderOfResponse(response);
}


