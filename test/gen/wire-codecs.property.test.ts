// Every message protoc-gen-oms-wire generates a codec for, held to protobuf-es over random
// messages: encode<Name> writes toBinary's bytes; decode<Name> reads what fromBinary reads,
// whatever order the fields come in, with a message given twice (merged), with unknown fields
// and groups among them, with the messages of an earlier decode given back and handed out again,
// with one text or 64-bit value in every field (what the reader hands out again);
// and damaged or truncated bytes are refused with a WireFormatError or read exactly as fromBinary
// reads them, never anything else.
import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary, type DescField, type DescFile, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { file_oms_internal_v1_node } from "../../src/gen/oms/internal/v1/node_pb.ts";
import * as nodeWire from "../../src/gen/oms/internal/v1/node_wire.ts";
import { file_oms_log_v1_events } from "../../src/gen/oms/log/v1/events_pb.ts";
import * as eventsWire from "../../src/gen/oms/log/v1/events_wire.ts";
import { file_oms_v1_account_service } from "../../src/gen/oms/v1/account_service_pb.ts";
import * as accountServiceWire from "../../src/gen/oms/v1/account_service_wire.ts";
import { file_oms_v1_order_service } from "../../src/gen/oms/v1/order_service_pb.ts";
import * as orderServiceWire from "../../src/gen/oms/v1/order_service_wire.ts";
import { file_oms_v1_trading } from "../../src/gen/oms/v1/trading_pb.ts";
import * as tradingWire from "../../src/gen/oms/v1/trading_wire.ts";
import { WireFormatError } from "../../src/rpc/protobuf-wire.ts";

type Codec = { encode: (message: Message) => Uint8Array; decode: (bytes: Uint8Array) => Message; release: (message: Message) => void };

const FILES: [DescFile, Record<string, unknown>][] = [
  [file_oms_log_v1_events, eventsWire],
  [file_oms_internal_v1_node, nodeWire],
  [file_oms_v1_trading, tradingWire],
  [file_oms_v1_order_service, orderServiceWire],
  [file_oms_v1_account_service, accountServiceWire],
];

const LIST_LENGTH_MAX = 3;
const RUNS = 150;

function codecOf(module: Record<string, unknown>, message: DescMessage): Codec {
  const encode = module[`encode${message.name}`];
  const decode = module[`decode${message.name}`];
  const release = module[`release${message.name}`];
  if (typeof encode !== "function" || typeof decode !== "function" || typeof release !== "function") throw new Error(`no generated codec for ${message.typeName}`);
  return { encode: encode as Codec["encode"], decode: decode as Codec["decode"], release: release as Codec["release"] };
}

// Random values for each field type, over the whole range the type allows: text with lone
// surrogates (toBinary writes U+FFFD), negative int32s (ten bytes), enums outside their values.
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 6 }), fc.constantFrom("", "AAPL", "acct-1"));
const int32 = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -2, max: 300 }));
const uint32 = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 300 }));
const int64 = fc.oneof(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.bigInt({ min: -2n, max: 1n << 40n }));
const uint64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 40n }));

function scalarArbitrary(field: DescField): fc.Arbitrary<unknown> {
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
    return fc.oneof(fc.constantFrom(...field.enum.values.map((value) => value.number)), int32);
  }
  const scalar = field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar") ? field.scalar : undefined;
  switch (scalar) {
    case ScalarType.STRING:
      return text;
    case ScalarType.INT32:
      return int32;
    case ScalarType.UINT32:
      return uint32;
    case ScalarType.INT64:
      return int64;
    case ScalarType.UINT64:
      return uint64;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 8 });
    default:
      throw new Error(`no arbitrary for ${field.parent.typeName}.${field.name}`);
  }
}

const messageArbitraries = new Map<DescMessage, fc.Arbitrary<Message>>();

/** A random message of this type, built with create() from random field values. */
function messageArbitrary(message: DescMessage): fc.Arbitrary<Message> {
  const known = messageArbitraries.get(message);
  if (known !== undefined) return known;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of message.fields) {
    if (field.oneof !== undefined) continue;
    if (field.fieldKind === "message") parts[field.localName] = fc.option(messageArbitrary(field.message), { nil: undefined });
    else if (field.fieldKind === "list") {
      const element = field.listKind === "message" ? messageArbitrary(field.message) : scalarArbitrary(field);
      parts[field.localName] = fc.array(element, { maxLength: LIST_LENGTH_MAX });
    } else if (field.presence === 2) parts[field.localName] = scalarArbitrary(field);
    else parts[field.localName] = fc.option(scalarArbitrary(field), { nil: undefined });
  }
  for (const oneof of message.oneofs) {
    const cases = oneof.fields.map((member) =>
      (member.fieldKind === "message" ? messageArbitrary(member.message) : scalarArbitrary(member)).map((value) => ({ case: member.localName, value })),
    );
    parts[oneof.localName] = fc.oneof(fc.constant({ case: undefined }), ...cases);
  }
  const arbitrary = fc.record(parts).map((init) => {
    const defined = Object.fromEntries(Object.entries(init).filter(([, value]) => value !== undefined));
    return create(message, defined as never) as Message;
  });
  messageArbitraries.set(message, arbitrary);
  return arbitrary;
}

/** The top-level fields of encoded bytes, each as its own bytes (tag and value). */
function fieldsOf(bytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const fields: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [number, wireType] = reader.tag();
    reader.skip(wireType, number);
    fields.push(bytes.subarray(start, reader.pos));
  }
  return fields;
}

/** Fields no message here has (numbers from 1000 up), of every wire type, groups among them. */
const unknownField = fc
  .tuple(fc.integer({ min: 1000, max: 5000 }), fc.constantFrom(WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.Bit32, WireType.StartGroup), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
  .map(([number, wireType, value]) => {
    const writer = new BinaryWriter().tag(number, wireType);
    if (wireType === WireType.Varint) writer.uint64(value);
    else if (wireType === WireType.Bit64) writer.fixed64(value);
    else if (wireType === WireType.Bit32) writer.fixed32(Number(value & 0xffff_ffffn));
    else if (wireType === WireType.LengthDelimited) writer.bytes(new Uint8Array(Number(value % 5n)));
    else writer.tag(number + 1, WireType.Varint).uint64(value).tag(number, WireType.EndGroup);
    return writer.finish();
  });

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** fromBinary's reading of the bytes, without the unknown fields it keeps (the generated decoder skips them). */
function generic(message: DescMessage, bytes: Uint8Array): Message | Error {
  try {
    return fromBinary(message, bytes, { readUnknownFields: false });
  } catch (error) {
    return error as Error;
  }
}

/** The generated decoder reads the bytes as fromBinary does, or refuses them with a WireFormatError (fromBinary refusing too, or reading a known field of another wire type). */
function expectReadAsGeneric(codec: Codec, message: DescMessage, bytes: Uint8Array): void {
  const expected = generic(message, bytes);
  let actual: Message;
  try {
    actual = codec.decode(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(WireFormatError);
    expect((error as Error).message).toMatch(/ \(at byte \d+ of \d+\)$/);
    return;
  }
  if (expected instanceof Error) throw new Error(`${message.typeName}: fromBinary refuses what the generated decoder read: ${expected.message}`);
  expect(actual).toEqual(expected);
}

/**
 * `other`, with each oneof that `value` sets to a message set to the same case (another random
 * message of it): merging the two then merges that case, which two random messages rarely do.
 */
function sameCases(message: DescMessage, value: Message, other: Message, g: fc.GeneratorValue): Message {
  const second = { ...other } as unknown as Record<string, unknown>;
  for (const oneof of message.oneofs) {
    const set = (value as unknown as Record<string, { case: string | undefined }>)[oneof.localName];
    const member = oneof.fields.find((field) => field.localName === set?.case);
    if (member?.fieldKind === "message") second[oneof.localName] = { case: member.localName, value: g(() => messageArbitrary(member.message)) };
  }
  return second as unknown as Message;
}

/** A message whose singular string fields all hold `value` and whose 64-bit fields all hold `number` (within their type). */
function sameValued(message: DescMessage, value: string, number: bigint): Message {
  const init: Record<string, unknown> = {};
  for (const field of message.fields) {
    if (field.oneof !== undefined || field.fieldKind !== "scalar") continue;
    if (field.scalar === ScalarType.STRING) init[field.localName] = value;
    else if (field.scalar === ScalarType.INT64) init[field.localName] = number;
    else if (field.scalar === ScalarType.UINT64) init[field.localName] = BigInt.asUintN(64, number);
  }
  return create(message, init as never) as Message;
}

const messages = FILES.flatMap(([file, module]) => file.messages.map((message) => ({ message, codec: codecOf(module, message) })));

describe("generated wire codecs against protobuf-es", () => {
  test("there is a codec for every message of the generated files", () => {
    expect(messages.length).toBeGreaterThan(40);
  });

  for (const { message, codec } of messages) {
    test(`${message.typeName}: toBinary's bytes, and fromBinary's reading in any field order, merged, with unknown fields`, () => {
      fc.assert(
        fc.property(messageArbitrary(message), messageArbitrary(message), fc.array(unknownField, { maxLength: 3 }), fc.infiniteStream(fc.nat()), fc.gen(), (value, other, unknown, order, g) => {
          const second = sameCases(message, value, other, g);
          const bytes = toBinary(message, value);
          expect(codec.encode(value)).toEqual(bytes);
          const decoded = codec.decode(bytes);
          expect(decoded).toEqual(generic(message, bytes) as Message);
          // Given back, its messages are handed out again for the next decodes as new ones.
          codec.release(decoded);
          expect(codec.decode(new Uint8Array(0))).toEqual(create(message) as Message);
          // Fields shuffled, unknown ones among them, then a second message merged into the first.
          const keys = order.take(1000);
          const shuffled = [...fieldsOf(bytes), ...unknown]
            .map((field) => ({ field, key: keys.next().value as number }))
            .sort((a, b) => a.key - b.key)
            .map(({ field }) => field);
          const merged = concat([...shuffled, toBinary(message, second)]);
          expectReadAsGeneric(codec, message, merged);
          expect(codec.decode(merged)).toEqual(generic(message, merged) as Message);
        }),
        { numRuns: RUNS, seed: 9_001 },
      );
    });

    test(`${message.typeName}: text and 64-bit values repeated within and across messages are read as fromBinary reads them`, () => {
      // The reader hands out again the string it read just before (equal text), the last int64
      // of 2^32 or more and the bigints below 1024: fields that all hold one value reach those
      // paths, and the same buffer rewritten with another message must not reach a stale one.
      const buffer = new Uint8Array(4096);
      fc.assert(
        fc.property(fc.array(fc.tuple(text, fc.oneof(int64, fc.bigInt({ min: 1n << 32n, max: 1n << 40n }))), { minLength: 1, maxLength: 3 }), (values) => {
          for (const [value, number] of values) {
            const bytes = toBinary(message, sameValued(message, value, number));
            buffer.set(bytes);
            expect(codec.decode(buffer.subarray(0, bytes.length))).toEqual(generic(message, bytes) as Message);
          }
        }),
        { numRuns: RUNS, seed: 9_003 },
      );
    });

    test(`${message.typeName}: damaged and truncated bytes are refused or read as fromBinary reads them`, () => {
      fc.assert(
        fc.property(messageArbitrary(message), fc.nat(), fc.integer({ min: 0, max: 255 }), (value, where, byte) => {
          const bytes = toBinary(message, value);
          if (bytes.length === 0) return;
          const damaged = new Uint8Array(bytes);
          damaged[where % bytes.length] = byte;
          expectReadAsGeneric(codec, message, damaged);
          expectReadAsGeneric(codec, message, bytes.subarray(0, where % bytes.length));
        }),
        { numRuns: RUNS, seed: 9_002 },
      );
    });
  }
});
