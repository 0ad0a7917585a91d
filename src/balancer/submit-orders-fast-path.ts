// OrderService.SubmitOrders answered on the HTTP/2 stream itself, without connect-es: over
// gRPC and over Connect (binary), the envelopes are read and written here, each order's bytes
// go into its node's batched Execute as they came (node-link.ts), and each answer is the Order
// bytes the node encoded. connect-es's streaming machinery (async iterables, a promise chain
// per order) and decoding and encoding every Order were over half of the balancer's CPU per
// streamed order. The contract is submit-orders-stream.ts's, which still serves every other
// kind of SubmitOrders call (JSON, compressed requests, malformed deadlines, HTTP/1.1):
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
import { accountIdProblem } from "../core/account-id.ts";
import { OrderService, SubmitOrdersRequestSchema } from "../gen/oms/v1/order_service_pb.ts";
import { EnvelopeReader, StreamAnswer, streamWireOf, type StreamWire } from "../rpc/http2-stream-wire.ts";
import type { NodeAnswer } from "./node-answer.ts";
import { encodedNodeCommand, nodeCommandField } from "./node-command-bytes.ts";
import type { SentCommand } from "./node-link.ts";
import { STREAM_ORDERS_IN_FLIGHT_MAX } from "./submit-orders-stream.ts";
import {
  encodedRefusal,
  orderAnswerBytes,
  orderOfResponse,
  orderRequestOf,
  writeOrderAnswer,
  type OrderRequest,
} from "./submit-orders-bytes.ts";

const SUBMIT_ORDERS_PATH = `/${OrderService.typeName}/${OrderService.method.submitOrders.name}`;
const SUBMIT_ORDER_COMMAND_FIELD = nodeCommandField("submitOrder");

/** Hands one order's command to the node that owns `accountId` (NodeLink.send). */
export type SendOrder = (accountId: string, command: SentCommand) => void;

export interface SubmitOrdersFastPath {
  /** Takes the stream and returns true, or returns false to leave it to connect-es. */
  (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, shutdown: AbortSignal): boolean;
  /** Streams taken so far, for tests and metrics. */
  streams: number;
}

export function submitOrdersFastPath(send: SendOrder, inFlightMax: number = STREAM_ORDERS_IN_FLIGHT_MAX): SubmitOrdersFastPath {
  if (!Number.isInteger(inFlightMax) || inFlightMax < 1) throw new Error(`SubmitOrders: inFlightMax must be a positive integer, got ${inFlightMax}`);
  const fastPath = ((stream: ServerHttp2Stream, headers: IncomingHttpHeaders, shutdown: AbortSignal): boolean => {
    if (headers[":path"] !== SUBMIT_ORDERS_PATH) return false;
    const wire = streamWireOf(headers);
    if (wire === null) return false;
    new OrderStreamSession(stream, wire, send, inFlightMax, shutdown).start();
    fastPath.streams += 1;
    return true;
  }) as SubmitOrdersFastPath;
  fastPath.streams = 0;
  return fastPath;
}

/** One order of a stream, from its request until its answer is written. */
class OrderSlot implements SentCommand {
  command: Uint8Array = EMPTY;
  /** An Order's bytes, or an OrderRefusal's if `refused`; null until the answer is known. */
  answer: Uint8Array | null = null;
  refused = false;
  /** An earlier order of the account is not written yet: this one is written after it. */
  waiting = false;
  nextOfAccount: OrderSlot | null = null;

  constructor(
    private readonly session: OrderStreamSession,
    readonly tag: Uint8Array,
    readonly accountId: string,
  ) {}

  resolve(answer: NodeAnswer): void {
    this.session.answered(this, orderOfAnswer(answer));
  }

  reject(error: ConnectError): void {
    this.session.answered(this, error);
  }
}

const EMPTY = new Uint8Array(0);

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
  /** Per account with orders in flight, its latest: the next one is written after it. */
  private readonly accountTails = new Map<string, OrderSlot>();
  private deadline: ReturnType<typeof setTimeout> | null = null;
  private readonly onShutdown = () => this.finish(ConnectError.from(this.shutdown.reason, Code.Canceled));
  private readonly writeReady = () => this.write();

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly wire: StreamWire,
    private readonly send: SendOrder,
    private readonly inFlightMax: number,
    private readonly shutdown: AbortSignal,
  ) {
    this.reader = new EnvelopeReader(wire.protocol);
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
    if (slot.waiting || this.finished) return;
    let next: OrderSlot | null = slot;
    while (next !== null && next.answer !== null) {
      this.ready.push(next);
      const after: OrderSlot | null = next.nextOfAccount;
      if (after === null) this.accountTails.delete(next.accountId);
      else after.waiting = false;
      next = after;
    }
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      // Answers of one node batch all arrive in one turn: they go out in one write.
      queueMicrotask(this.writeReady);
    }
  }

  /** Reads and sends orders while the bound allows, and pauses the stream when it does not. */
  private pump(): void {
    while (this.reading && this.inFlight < this.inFlightMax) {
      const message = this.reader.next();
      if (message === null) break;
      if (message instanceof ConnectError) {
        this.stopReading(readFailure(message));
        break;
      }
      let request: OrderRequest;
      try {
        request = orderRequestOf(message);
      } catch (error) {
        this.stopReading(ConnectError.from(error));
        break;
      }
      this.dispatch(request);
    }
    if (this.reading && this.requestEnded && this.inFlight < this.inFlightMax) this.stopReading(this.reader.leftover());
    const full = this.reading && this.inFlight >= this.inFlightMax;
    if (full !== this.paused && !this.finished) {
      this.paused = full;
      if (full) this.stream.pause();
      else this.stream.resume();
    }
  }

  private dispatch(request: OrderRequest): void {
    const slot = new OrderSlot(this, request.tag, request.accountId);
    const tail = this.accountTails.get(slot.accountId);
    if (tail !== undefined) {
      tail.nextOfAccount = slot;
      slot.waiting = true;
    }
    this.accountTails.set(slot.accountId, slot);
    this.inFlight += 1;
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
    slot.command = encodedNodeCommand(SUBMIT_ORDER_COMMAND_FIELD, request.order);
    this.send(slot.accountId, slot);
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
    this.inFlight -= written.length;
    if (!this.answerSide.write(envelopes)) this.writeBlocked = true;
    this.pump();
    this.finishIfAnswered();
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
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.shutdown.removeEventListener("abort", this.onShutdown);
    this.ready = [];
    this.accountTails.clear();
    this.answerSide.end(error);
    if (this.paused) this.stream.resume();
  }
}

/** The Order bytes of a node's answer to SubmitOrder, or its refusal. */
function orderOfAnswer(answer: NodeAnswer): Uint8Array | ConnectError {
  const response = answer.valueOf("submitOrder");
  return response instanceof ConnectError ? response : orderOfResponse(response);
}

/**
 * As submit-orders-stream.ts says of connect-es: a framing error it reports as INTERNAL can only
 * be the client's bytes here, so the client hears INVALID_ARGUMENT.
 */
function readFailure(error: ConnectError): ConnectError {
  if (error.code !== Code.Internal) return error;
  return new ConnectError(`cannot decode message ${SubmitOrdersRequestSchema.typeName}: ${error.rawMessage}`, Code.InvalidArgument);
}
