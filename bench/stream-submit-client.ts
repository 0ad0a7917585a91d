// The e2e load generator's SubmitOrders client: a few long-lived bidirectional streams
// (connect-es, Connect binary over HTTP/2) on which orders are sent as the open loop asks and
// each order's promise settles when the answer with its tag comes back.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  SubmitOrdersRequestSchema,
  type OrderService,
  type SubmitOrderRequest,
  type SubmitOrdersRequest,
  type SubmitOrdersResponse,
} from "../src/gen/oms/v1/order_service_pb.ts";

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class StreamSubmitClient {
  private readonly outboxes: Outbox[] = [];
  private readonly readers: Promise<void>[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private failure: Error | null = null;

  constructor(client: Client<typeof OrderService>, streams: number) {
    for (let i = 0; i < streams; i++) {
      const outbox = new Outbox();
      this.outboxes.push(outbox);
      // No deadline: the stream lives for the whole run; each order is timed by the open loop.
      this.readers.push(this.read(client.submitOrders(outbox, { timeoutMs: 0 }), outbox));
    }
  }

  /** Sends an order on the stream its account maps to; settles with its answer. */
  submit(tag: number, order: SubmitOrderRequest, stream: number): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const outbox = this.outboxes[stream % this.outboxes.length] as Outbox;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiting.set(tag, { resolve, reject });
    outbox.push(create(SubmitOrdersRequestSchema, { tag: BigInt(tag), order }));
    return promise;
  }

  /** Ends every stream's sending side and waits until each has answered everything and ended. */
  async close(): Promise<void> {
    for (const outbox of this.outboxes) outbox.end();
    await Promise.all(this.readers);
  }

  private async read(answers: AsyncIterable<SubmitOrdersResponse>, outbox: Outbox): Promise<void> {
    try {
      for await (const answer of answers) {
        const tag = Number(answer.tag);
        const waiting = this.waiting.get(tag);
        if (waiting === undefined) throw new Error(`SubmitOrders answered tag ${tag}, which is not in flight`);
        this.waiting.delete(tag);
        if (answer.result.case === "order") waiting.resolve();
        else waiting.reject(new Error(answer.result.case === "refusal" ? `${answer.result.value.code}: ${answer.result.value.message}` : "empty answer"));
      }
      if (!outbox.ended) throw new Error("SubmitOrders stream ended before the client ended its side");
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      for (const waiting of this.waiting.values()) waiting.reject(this.failure);
      this.waiting.clear();
    }
  }
}

/** The requests of one stream, as connect-es pulls them: pushed by the open loop, ended at close. */
class Outbox implements AsyncIterable<SubmitOrdersRequest> {
  private items: SubmitOrdersRequest[] = [];
  private wake: (() => void) | null = null;
  ended = false;

  push(request: SubmitOrdersRequest): void {
    this.items.push(request);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SubmitOrdersRequest> {
    for (;;) {
      if (this.items.length > 0) {
        const due = this.items;
        this.items = [];
        yield* due;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
