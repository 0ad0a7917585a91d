// patches/kafkajs@2.2.4.patch rewrites three pieces of kafkajs for speed; these prove each still
// does what kafkajs did: varints byte for byte as Kafka's protocol defines them (zigzag LEB128),
// messages grouped per partition in their order, and no timer left running by an idle connection.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createRequire } from "node:module";
import { varintBytes } from "./record-arbitraries.ts";

const require = createRequire(import.meta.url);
interface KafkajsEncoder {
  writeVarInt(value: number): KafkajsEncoder;
  writeUVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: number | string): KafkajsEncoder;
  writeInt8(value: number): KafkajsEncoder;
  readonly buffer: Buffer;
}
interface KafkajsDecoder {
  readVarInt(): number;
  readUVarInt(): number;
  readVarLong(): { toString(): string };
  readInt8(): number;
}
const Encoder = require("kafkajs/src/protocol/encoder") as new (initialSize?: number) => KafkajsEncoder;
const Decoder = require("kafkajs/src/protocol/decoder") as new (buffer: Buffer) => KafkajsDecoder;
type Message = { partition: number; value: string };
const groupMessagesPerPartition = require("kafkajs/src/producer/groupMessagesPerPartition") as (options: {
  topic: string;
  partitionMetadata: unknown[];
  messages: Message[];
  partitioner: (options: { message: Message }) => number;
}) => Record<number, Message[]>;
const RequestQueue = require("kafkajs/src/network/requestQueue") as new (options: object) => {
  scheduleCheckPendingRequests(): void;
  destroy(): void;
  throttleCheckTimeoutId: unknown;
  pending: unknown[];
};

const RUNS = 2000;

/** Unsigned LEB128, as the Kafka protocol writes varints (7 bits a byte, low first): the same
 * bytes as protobuf's varints. */
const leb128 = (value: bigint): number[] => [...varintBytes(value)];

const zigzag32 = (value: number): bigint => BigInt(((value << 1) ^ (value >> 31)) >>> 0);
const zigzag64 = (value: bigint): bigint => BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));

describe("kafkajs's Encoder, patched to write varints in place", () => {
  test("writeVarInt writes zigzag LEB128 for every int32, and kafkajs's Decoder reads it back", () => {
    const edges = [0, 1, -1, 63, -64, 64, -65, 8191, 8192, 2 ** 31 - 1, -(2 ** 31)];
    const values = fc.sample(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), RUNS).concat(edges);
    for (const value of values) {
      const bytes = new Encoder().writeVarInt(value).buffer;
      expect([...bytes]).toEqual(leb128(zigzag32(value)));
      expect(new Decoder(bytes).readVarInt()).toBe(value);
    }
  });

  test("writeUVarInt writes LEB128 for every uint31", () => {
    const values = fc.sample(fc.integer({ min: 0, max: 2 ** 31 - 1 }), RUNS).concat([0, 127, 128, 16_383, 16_384]);
    for (const value of values) {
      const bytes = new Encoder().writeUVarInt(value).buffer;
      expect([...bytes]).toEqual(leb128(BigInt(value)));
      expect(new Decoder(bytes).readUVarInt()).toBe(value);
    }
  });

  test("writeVarLong writes zigzag LEB128 for every int64", () => {
    const edges = [0n, -1n, 1n, (1n << 63n) - 1n, -(1n << 63n), 1_700_000_000_000n];
    const values = fc.sample(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), RUNS).concat(edges);
    for (const value of values) {
      const bytes = new Encoder().writeVarLong(value.toString()).buffer;
      expect([...bytes]).toEqual(leb128(zigzag64(value)));
      expect(new Decoder(bytes).readVarLong().toString()).toBe(value.toString());
    }
  });

  test("varints written one after another, across the encoder growing its buffer, read back in order", () => {
    const values = fc.sample(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), RUNS);
    // A 1-byte initial buffer: every write has to grow it.
    const encoder = new Encoder(1);
    for (const value of values) encoder.writeVarInt(value).writeInt8(7);
    const decoder = new Decoder(encoder.buffer);
    for (const value of values) {
      expect(decoder.readVarInt()).toBe(value);
      expect(decoder.readInt8()).toBe(7);
    }
  });
});

describe("kafkajs's groupMessagesPerPartition, patched to run in one pass", () => {
  test("each partition gets its messages in the order they were given", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 300 }), (partitions) => {
        const messages = partitions.map((partition, index) => ({ partition, value: `m${index}` }));
        const grouped = groupMessagesPerPartition({ topic: "t", partitionMetadata: [{}], messages, partitioner: ({ message }) => message.partition });
        const expected: Record<number, Message[]> = {};
        for (const message of messages) (expected[message.partition] ??= []).push(message);
        expect(grouped).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  test("no partition metadata groups nothing, as before", () => {
    expect(groupMessagesPerPartition({ topic: "t", partitionMetadata: [], messages: [{ partition: 0, value: "m" }], partitioner: () => 0 })).toEqual({});
  });
});

describe("kafkajs's RequestQueue, patched to stop polling when idle", () => {
  const logger = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => logger };
  const newQueue = () =>
    new RequestQueue({ instrumentationEmitter: null, maxInFlightRequests: 1, requestTimeout: 1_000, enforceRequestTimeout: true, clientId: "t", broker: "b", logger, isConnected: () => true });

  test("with nothing pending and no throttle, no timer is scheduled", () => {
    const queue = newQueue();
    queue.scheduleCheckPendingRequests();
    expect(queue.throttleCheckTimeoutId ?? null).toBeNull();
    queue.destroy();
  });

  test("with a request pending, the queue is still checked again later", () => {
    const queue = newQueue();
    queue.pending.push({});
    queue.scheduleCheckPendingRequests();
    expect(queue.throttleCheckTimeoutId ?? null).not.toBeNull();
    queue.pending.length = 0;
    queue.destroy();
  });
});
