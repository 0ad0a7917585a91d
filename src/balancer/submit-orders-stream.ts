// OrderService.SubmitOrders: a session of many orders on one stream. Each order takes the path
// of a unary SubmitOrder (routeCommand: the same checks, the same batched Execute to its owner),
// so an order is accepted only when its node's log has it, and a refusal carries the code and
// message the unary call would have failed with. Reading and answering run side by side, so
// many orders are in flight at once; the bound below makes a client that sends faster than it
// reads wait (HTTP/2 flow control carries the wait back to it) instead of filling memory.
// Streams in gRPC or Connect binary over HTTP/2 (every client of ours, and most others) are
// answered by submit-orders-fast-path.ts under the same contract; connect-es brings the rest
// here (JSON, compressed requests, what else the lean path leaves to it).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import {
  SubmitOrdersRequestSchema,
  SubmitOrdersResponseSchema,
  type SubmitOrderRequest,
  type SubmitOrderResponse,
  type SubmitOrdersRequest,
  type SubmitOrdersResponse,
} from "../gen/oms/v1/order_service_pb.ts";

/**
 * Orders read from one stream and not yet written back. Enough to keep a node's batches full at
 * the rates one client can send (a few ms of orders at 100,000/s); small enough that a stream
 * holds at most a few hundred KiB however its client behaves.
 */
export const STREAM_ORDERS_IN_FLIGHT_MAX = 1024;

/** One order the way SubmitOrder takes it: resolves with its response, or rejects as the unary call would fail. */
export type SubmitOne = (order: SubmitOrderRequest) => Promise<SubmitOrderResponse>;

export async function* submitOrdersStream(
  requests: AsyncIterable<SubmitOrdersRequest>,
  submit: SubmitOne,
  signal: AbortSignal,
  inFlightMax: number = STREAM_ORDERS_IN_FLIGHT_MAX,
): AsyncGenerator<SubmitOrdersResponse> {
  const session = new OrderSession(submit, inFlightMax);
  const abort = () => session.wake();
  signal.addEventListener("abort", abort);
  void session.read(requests, signal);
  try {
    for (;;) {
      const answer = session.nextAnswer();
      if (answer !== undefined) {
        yield answer;
        continue;
      }
      if (signal.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
      if (session.finished()) {
        if (session.readError !== null) throw session.readError;
        return;
      }
      await session.changed();
    }
  } finally {
    signal.removeEventListener("abort", abort);
    session.close();
  }
}

class OrderSession {
  /** Answers ready to write, in the order they may be written. */
  private readonly ready: SubmitOrdersResponse[] = [];
  private readyHead = 0;
  /** Read and not yet handed to the writer: what the bound counts. */
  private inFlight = 0;
  private reading = true;
  /** The writer is gone (stream ended or broken): the reader stops too. */
  private closed = false;
  readError: ConnectError | null = null;
  /** Per account, when its latest answer is queued: a later answer of the account waits for it. */
  private readonly accountTails = new Map<string, Promise<void>>();
  private wakeWriter: (() => void) | null = null;
  private wakeReader: (() => void) | null = null;

  constructor(
    private readonly submit: SubmitOne,
    private readonly inFlightMax: number,
  ) {
    if (!Number.isInteger(inFlightMax) || inFlightMax < 1) throw new Error(`SubmitOrders: inFlightMax must be a positive integer, got ${inFlightMax}`);
  }

  async read(requests: AsyncIterable<SubmitOrdersRequest>, signal: AbortSignal): Promise<void> {
    try {
      for await (const request of requests) {
        if (this.closed || signal.aborted) break;
        this.dispatch(request);
        while (this.inFlight >= this.inFlightMax && !this.closed && !signal.aborted) await new Promise<void>((resolve) => (this.wakeReader = resolve));
      }
    } catch (error) {
      // A message that cannot be decoded or a stream the client broke: what is in flight is
      // still answered, then the stream ends with this error.
      this.readError = readFailure(error);
    }
    this.reading = false;
    this.wake();
  }

  nextAnswer(): SubmitOrdersResponse | undefined {
    if (this.readyHead === this.ready.length) return undefined;
    const answer = this.ready[this.readyHead];
    this.readyHead += 1;
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    } else if (this.readyHead >= this.inFlightMax) {
      // Under steady load the queue may never run empty: drop the written ones now and then,
      // so that it holds at most about 2 × inFlightMax entries.
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
    this.inFlight -= 1;
    const reader = this.wakeReader;
    this.wakeReader = null;
    reader?.();
    return answer;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  finished(): boolean {
    return !this.reading && this.inFlight === 0;
  }

  changed(): Promise<void> {
    return new Promise((resolve) => (this.wakeWriter = resolve));
  }

  wake(): void {
    const writer = this.wakeWriter;
    this.wakeWriter = null;
    writer?.();
    const reader = this.wakeReader;
    this.wakeReader = null;
    reader?.();
  }

  private dispatch(request: SubmitOrdersRequest): void {
    this.inFlight += 1;
    const answered = answerOf(request, this.submit);
    const accountId = request.order?.accountId ?? "";
    const previous = this.accountTails.get(accountId);
    const inTurn = previous === undefined ? answered : previous.then(() => answered);
    const queued = inTurn.then((answer) => {
      this.ready.push(answer);
      if (this.accountTails.get(accountId) === queued) this.accountTails.delete(accountId);
      this.wake();
    });
    this.accountTails.set(accountId, queued);
  }
}

/**
 * connect-es reports a request it cannot decode as INTERNAL; on this side of the stream it can
 * only be the client's bytes, so the client hears INVALID_ARGUMENT, as a unary call's would.
 */
function readFailure(reason: unknown): ConnectError {
  const error = ConnectError.from(reason);
  if (error.code !== Code.Internal) return error;
  return new ConnectError(`cannot decode message ${SubmitOrdersRequestSchema.typeName}: ${error.rawMessage}`, Code.InvalidArgument);
}

/** The answer to one request; never rejects: every failure becomes the order's refusal. */
async function answerOf(request: SubmitOrdersRequest, submit: SubmitOne): Promise<SubmitOrdersResponse> {
  const tag = request.tag;
  if (request.order === undefined) return refusal(tag, new ConnectError("order: is required", Code.InvalidArgument));
  try {
    const response = await submit(request.order);
    if (response.order === undefined) return refusal(tag, new ConnectError("node answered SubmitOrder without an order", Code.Internal));
    return create(SubmitOrdersResponseSchema, { tag, result: { case: "order", value: response.order } });
  } catch (error) {
    return refusal(tag, ConnectError.from(error));
  }
}

function refusal(tag: bigint, error: ConnectError): SubmitOrdersResponse {
  return create(SubmitOrdersResponseSchema, {
    tag,
    result: { case: "refusal", value: { code: codeToString(error.code), message: error.rawMessage } },
  });
}
