// Damage done to a valid message's protobuf bytes, each kind with what a reader must make of it:
// "refused" where no reading of the bytes is valid protobuf of the schema (a cut inside a field,
// a varint longer than 10 bytes, a known field with another wire type than the schema's, an
// end-group without a start), "any" where the result may still be a valid message (a cut
// between fields, a duplicated field, an unknown field, flipped bytes).
import type { DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";

export type ProtobufMutation =
  | { kind: "none" }
  | { kind: "truncate"; at: number }
  | { kind: "duplicate-field"; index: number }
  | { kind: "wrong-wire-type"; index: number; wireType: number }
  | { kind: "huge-varint"; bytes: number }
  | { kind: "unknown-field"; fieldNumber: number }
  | { kind: "packed-singular"; index: number }
  | { kind: "stray-end-group" }
  | { kind: "flip"; at: number; value: number }
  | { kind: "random-bytes"; bytes: Uint8Array };

export const protobufMutationArbitrary: fc.Arbitrary<ProtobufMutation> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat({ max: 4096 }) }),
  fc.record({ kind: fc.constant("duplicate-field" as const), index: fc.nat({ max: 16 }) }),
  fc.record({ kind: fc.constant("wrong-wire-type" as const), index: fc.nat({ max: 16 }), wireType: fc.constantFrom(0, 1, 2, 5) }),
  fc.record({ kind: fc.constant("huge-varint" as const), bytes: fc.integer({ min: 11, max: 64 }) }),
  fc.record({ kind: fc.constant("unknown-field" as const), fieldNumber: fc.integer({ min: 100, max: 536_870_911 }) }),
  fc.record({ kind: fc.constant("packed-singular" as const), index: fc.nat({ max: 16 }) }),
  fc.constant({ kind: "stray-end-group" as const }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat({ max: 4096 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("random-bytes" as const), bytes: fc.uint8Array({ maxLength: 256 }) }),
);

/** A top-level field of encoded bytes: where it starts and ends, its number and wire type. */
interface WireField {
  start: number;
  end: number;
  number: number;
  wireType: number;
  /** Where its value starts (after the tag). */
  valueAt: number;
}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length; i += 1) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new Error("fuzz: a varint of our own encoding ran past the end");
}

/** The top-level fields of bytes protobuf-es wrote (only varint and length-delimited occur). */
function fieldsOf(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    const wireType = tag.value % 8;
    let end: number;
    if (wireType === 0) end = readVarint(bytes, tag.next).next;
    else if (wireType === 2) {
      const length = readVarint(bytes, tag.next);
      end = length.next + length.value;
    } else throw new Error(`fuzz: wire type ${wireType} in our own encoding`);
    fields.push({ start: at, end, number: Math.floor(tag.value / 8), wireType, valueAt: tag.next });
    at = end;
  }
  return fields;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

export interface MutatedBytes {
  bytes: Uint8Array;
  /** Whether every reader of the schema must refuse these bytes. */
  refused: boolean;
}

export function mutateProtobuf(schema: DescMessage, valid: Uint8Array, mutation: ProtobufMutation): MutatedBytes {
  const fields = fieldsOf(valid);
  const join = (...parts: (Uint8Array | number[])[]) => Buffer.concat(parts.map((part) => Buffer.from(part)));
  switch (mutation.kind) {
    case "none":
      return { bytes: valid, refused: false };
    case "truncate": {
      if (valid.length === 0) return { bytes: valid, refused: false };
      const at = mutation.at % valid.length;
      // A cut at a field's start leaves the fields before it: still a valid message.
      const atBoundary = fields.some((field) => field.start === at);
      return { bytes: valid.subarray(0, at), refused: !atBoundary };
    }
    case "duplicate-field": {
      const field = fields[mutation.index % Math.max(fields.length, 1)];
      if (field === undefined) return { bytes: valid, refused: false };
      // The last of a repeated singular field wins (a message field merges): valid either way.
      return { bytes: join(valid, valid.subarray(field.start, field.end)), refused: false };
    }
    case "wrong-wire-type": {
      const field = fields[mutation.index % Math.max(fields.length, 1)];
      if (field === undefined || field.wireType === mutation.wireType) return { bytes: valid, refused: false };
      // Keep the value's bytes; only the tag's wire type changes, so the field no longer reads as the schema's.
      const tag = varint(field.number * 8 + mutation.wireType);
      const known = schema.fields.some((f) => f.number === field.number);
      return { bytes: join(valid.subarray(0, field.start), tag, valid.subarray(field.valueAt)), refused: known };
    }
    case "huge-varint": {
      // The first field as a varint of more than 10 bytes: no varint is that long. (A reader may
      // skip an unknown field's varint without measuring it, so only a known field must be refused.)
      const first = schema.fields[0];
      const number = first?.number ?? 1;
      return { bytes: join(valid, varint(number * 8), new Array<number>(mutation.bytes - 1).fill(0xff), [0x01]), refused: first !== undefined };
    }
    case "unknown-field": {
      // Numbers from 100 up: no public request has a field there, and unknown fields are kept, not refused.
      return { bytes: join(valid, varint(mutation.fieldNumber * 8), [0x2a]), refused: false };
    }
    case "packed-singular": {
      // A singular varint field sent as a packed list: parsers of repeated fields take this, of singular ones may not.
      const field = fields.filter((f) => f.wireType === 0)[mutation.index % Math.max(fields.length, 1)];
      if (field === undefined) return { bytes: valid, refused: false };
      const value = valid.subarray(field.valueAt, field.end);
      const packed = join(varint(field.number * 8 + 2), varint(value.length), value);
      return { bytes: join(valid.subarray(0, field.start), packed, valid.subarray(field.end)), refused: false };
    }
    case "stray-end-group":
      // Field 1, wire type 4 (end group) with no start.
      return { bytes: join(valid, [0x0c]), refused: true };
    case "flip": {
      if (valid.length === 0) return { bytes: valid, refused: false };
      const bytes = new Uint8Array(valid);
      bytes[mutation.at % bytes.length] = mutation.value;
      return { bytes, refused: false };
    }
    case "random-bytes":
      return { bytes: mutation.bytes, refused: false };
  }
}
