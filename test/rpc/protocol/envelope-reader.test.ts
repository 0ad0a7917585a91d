// Envelopes come in however HTTP/2 cuts the request into DATA frames: the reader must give the
// same messages for any cut, tell a message cut short at the end, refuse an oversized length and
// a compressed envelope on a call without an encoding, and inflate gzip within the size limit.
import { expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvelopeReader } from "../../../src/rpc/protocol/envelope-reader.ts";
import { gzipSync } from "node:zlib";
import { MESSAGE_BYTES_MAX } from "../../../src/rpc/rpc-limits.ts";
import { seededRandom } from "../../../src/venue/seeded-random.ts";
import { envelope } from "../envelope.ts";

const GRPC = { protocol: "grpc", gzipRequests: false } as const;
const CONNECT = { protocol: "connect", gzipRequests: false } as const;

/** Every message the reader gives for these chunks, in order, and its first error. */
function readAll(reader: EnvelopeReader, chunks: Buffer[]): { messages: number[][]; error: ConnectError | null } {
  const messages: number[][] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let next = reader.next(); next !== null; next = reader.next()) {
      if (next instanceof ConnectError) return { messages, error: next };
      messages.push([...next]);
    }
  }
  return { messages, error: reader.leftover() };
}

test("any cut of the request into chunks gives the same messages, empty ones included", () => {
  const sent = [[], [1], [2, 3, 4], Array.from({ length: 300 }, (_, i) => i % 256), [5, 6], []];
  const bytes = Buffer.concat(sent.map((message) => envelope(Uint8Array.from(message))));
  const random = seededRandom(7);
  for (let trial = 0; trial < 200; trial++) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = trial === 0 ? 1 : 1 + Math.floor(random() * 40);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    expect(readAll(new EnvelopeReader(GRPC), chunks)).toEqual({ messages: sent, error: null });
  }
});

test("a request that ends inside an envelope, header or message, is an incomplete envelope", () => {
  const whole = envelope(Uint8Array.from([8, 1, 18, 0]));
  for (const cut of [1, 4, 5, 8]) {
    const { messages, error } = readAll(new EnvelopeReader(CONNECT), [envelope(Uint8Array.from([9])), whole.subarray(0, cut)]);
    expect(messages).toEqual([[9]]);
    expect([error?.code, error?.rawMessage]).toEqual([Code.InvalidArgument, "protocol error: incomplete envelope"]);
  }
});

test("an oversized length is refused as soon as the header is read; a compressed envelope is refused; Connect skips a client's end-of-stream envelope, gRPC has none", () => {
  const oversized = readAll(new EnvelopeReader(GRPC), [Buffer.from([0, 0x01, 0, 0, 0])]);
  expect([oversized.error?.code, oversized.error?.rawMessage]).toEqual([Code.ResourceExhausted, "message size 16777216 is larger than configured readMaxBytes 4194304"]);
  const compressed = readAll(new EnvelopeReader(CONNECT), [envelope(Uint8Array.from([1]), 1)]);
  expect([compressed.error?.code, compressed.error?.rawMessage]).toEqual([Code.InvalidArgument, "received compressed envelope, but do not know how to decompress"]);
  const ended = [envelope(Uint8Array.from([1])), envelope(Buffer.from("{}"), 2), envelope(Uint8Array.from([2]))];
  expect(readAll(new EnvelopeReader(CONNECT), ended)).toEqual({ messages: [[1], [2]], error: null });
  expect(readAll(new EnvelopeReader(GRPC), ended)).toEqual({ messages: [[1], [...Buffer.from("{}")], [2]], error: null });
});

test("on a call with gzip, compressed envelopes are inflated; one that inflates past the size limit, or is not gzip, is refused", () => {
  const gzip = { protocol: "grpc", gzipRequests: true } as const;
  const plain = Uint8Array.from([8, 1, 18, 3, 97, 98, 99]);
  expect(readAll(new EnvelopeReader(gzip), [envelope(gzipSync(plain), 1), envelope(plain)])).toEqual({ messages: [[...plain], [...plain]], error: null });
  const bomb = readAll(new EnvelopeReader(gzip), [envelope(gzipSync(Buffer.alloc(MESSAGE_BYTES_MAX + 1)), 1)]);
  expect(bomb.error?.code).toBe(Code.ResourceExhausted);
  const broken = readAll(new EnvelopeReader(gzip), [envelope(Uint8Array.from([1, 2, 3]), 1)]);
  expect(broken.error?.code).toBe(Code.InvalidArgument);
});
