// A lean SubmitOrders client for the load generator: a few long-lived streams in the Connect
// protocol (binary, HTTP/2) on one session, each order's bytes encoded once up front, the
// requests of one event-loop turn sent in one write, and each answer read as far as its tag
// and result (an Order or a refusal) without building the Order. connect-es's client spent
// ~40-90 µs of CPU per streamed order (async iterables, a message built and encoded per order,
// every answer decoded): more than the balancer, on the two cores the system being measured
// has. `--client connect-es` selects connect-es's (stream-submit-client.ts).
import * as http2 from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { OrderRefusalSchema, SubmitOrderRequestSchema, type SubmitOrderRequest } from "../src/gen/oms/v1/order_service_pb.ts";

const SUBMIT_ORDERS_PATH = "/oms.v1.OrderService/SubmitOrders";
const ENVELOPE_HEADER_BYTES = 5;
const FLAG_END_STREAM = 0b10;

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class LeanStreamSubmitClient {
  private readonly session: http2.ClientHttp2Session;
  private readonly streams: OrderStream[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private failure: Error | null = null;

  /** keyHeaders present the API key (test/support/api-keys.ts keyHeaders). */
  constructor(baseUrl: string, streams: number, keyHeaders: Readonly<Record<string, string>>) {
    this.session = http2.connect(baseUrl);
    this.session.on("error", (error) => this.fail(error));
    for (let i = 0; i < streams; i++) this.streams.push(new OrderStream(this.session, this, keyHeaders));
  }

  encode(order: SubmitOrderRequest): Uint8Array {
    return toBinary(SubmitOrderRequestSchema, order);
  }

  /** Sends an order (encode()'s bytes) on the stream its account maps to; settles with its answer. */
  submit(tag: number, order: Uint8Array, stream: number): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiting.set(tag, { resolve, reject });
    (this.streams[stream % this.streams.length] as OrderStream).send(tag, order);
    return promise;
  }

  /** Ends every stream's sending side and waits until each has answered everything and ended. */
  async close(): Promise<void> {
    await Promise.all(this.streams.map((stream) => stream.close()));
    this.session.close();
  }

  answered(tag: number, refusal: string | null): void {
    const waiting = this.waiting.get(tag);
    if (waiting === undefined) {
      this.fail(new Error(`SubmitOrders answered tag ${tag}, which is not in flight`));
      return;
    }
    this.waiting.delete(tag);
    if (refusal === null) waiting.resolve();
    else waiting.reject(new Error(refusal));
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
  }
}

class OrderStream {
  private readonly stream: http2.ClientHttp2Stream;
  private outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  private flushScheduled = false;
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly closed: Promise<void>;

  constructor(
    session: http2.ClientHttp2Session,
    private readonly client: LeanStreamSubmitClient,
    keyHeaders: Readonly<Record<string, string>>,
  ) {
    // No deadline: the stream lives for the whole run; each order is timed by the open loop.
    this.stream = session.request({ ":method": "POST", ":path": SUBMIT_ORDERS_PATH, "content-type": "application/connect+proto", "connect-protocol-version": "1", ...keyHeaders });
    this.stream.on("data", (chunk: Buffer) => this.read(chunk));
    this.stream.on("error", (error) => this.client.fail(error));
    this.closed = new Promise((resolve) => this.stream.on("close", () => resolve()));
  }

  send(tag: number, order: Uint8Array): void {
    const tagBytes = varintBytes(tag);
    const orderLengthBytes = varintBytes(order.length);
    const messageBytes = 1 + tagBytes + 1 + orderLengthBytes + order.length;
    const envelope = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + messageBytes);
    envelope[0] = 0;
    envelope.writeUInt32BE(messageBytes, 1);
    let pos = ENVELOPE_HEADER_BYTES;
    envelope[pos++] = 0x08;
    pos = writeVarint(envelope, pos, tag);
    envelope[pos++] = 0x12;
    pos = writeVarint(envelope, pos, order.length);
    envelope.set(order, pos);
    this.outbox.push(envelope);
    this.outboxBytes += envelope.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  async close(): Promise<void> {
    this.flush();
    this.ended = true;
    this.stream.end();
    await this.closed;
    if (this.pending.length > 0) this.client.fail(new Error("SubmitOrders stream ended inside an envelope"));
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    const bytes = this.outbox.length === 1 ? (this.outbox[0] as Uint8Array) : Buffer.concat(this.outbox, this.outboxBytes);
    this.outbox = [];
    this.outboxBytes = 0;
    this.stream.write(bytes);
  }

  private read(chunk: Buffer): void {
    let bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (bytes.length >= ENVELOPE_HEADER_BYTES) {
      const length = bytes.readUInt32BE(1);
      if (bytes.length < ENVELOPE_HEADER_BYTES + length) break;
      const flags = bytes[0] as number;
      const message = bytes.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + length);
      bytes = bytes.subarray(ENVELOPE_HEADER_BYTES + length);
      if ((flags & FLAG_END_STREAM) !== 0) this.readEnd(message);
      else this.readAnswer(message);
    }
    this.pending = bytes;
  }

  /** The tag and whether it is an Order or a refusal; the Order itself is not built. */
  private readAnswer(message: Uint8Array): void {
    const reader = new BinaryReader(message);
    let tag = 0;
    let refusal: string | null = "empty answer";
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      if (number === 1 && wireType === WireType.Varint) tag = Number(reader.uint64());
      else if (number === 2 && wireType === WireType.LengthDelimited) {
        reader.skip(wireType);
        refusal = null;
      } else if (number === 3 && wireType === WireType.LengthDelimited) {
        const refused = fromBinary(OrderRefusalSchema, reader.bytes());
        refusal = `${refused.code}: ${refused.message}`;
      } else reader.skip(wireType);
    }
    this.client.answered(tag, refusal);
  }

  private readEnd(message: Uint8Array): void {
    const end = JSON.parse(Buffer.from(message).toString("utf8")) as { error?: { code: string; message?: string } };
    if (end.error !== undefined) this.client.fail(new Error(`SubmitOrders stream ended ${end.error.code}: ${end.error.message ?? ""}`));
    else if (!this.ended) this.client.fail(new Error("SubmitOrders stream ended before the client ended its side"));
  }
}

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) bytes += 1;
  return bytes;
}

function writeVarint(target: Buffer, offset: number, value: number): number {
  let pos = offset;
  let rest = value;
  while (rest >= 128) {
    target[pos++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  target[pos++] = rest;
  return pos;
}
