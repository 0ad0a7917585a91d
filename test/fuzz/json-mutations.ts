// Damage done to a valid message's JSON, each kind with what a reader must make of it:
// "refused" where the text is not the message's JSON (not JSON, not UTF-8, not an object, a known
// field of the wrong type, a number out of its field's range, nesting where a scalar belongs),
// "any" where it may still be (null for a field, an unknown field, which every path ignores).
import { ScalarType, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";

export type JsonMutation =
  | { kind: "none" }
  | { kind: "wrong-type"; index: number; value: "number" | "object" | "array" | "bool" }
  | { kind: "unknown-field"; name: string }
  | { kind: "huge-number"; index: number; text: string }
  | { kind: "deep-nesting"; depth: number }
  | { kind: "invalid-utf8"; at: number }
  | { kind: "not-json"; text: string }
  | { kind: "not-an-object"; text: string }
  | { kind: "null-field"; index: number }
  | { kind: "truncate"; at: number };

export const jsonMutationArbitrary: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("wrong-type" as const), index: fc.nat({ max: 16 }), value: fc.constantFrom("number" as const, "object" as const, "array" as const, "bool" as const) }),
  fc.record({ kind: fc.constant("unknown-field" as const), name: fc.constantFrom("noSuchField", "__proto__", "constructor", "account", "ACCOUNT_ID") }),
  fc.record({ kind: fc.constant("huge-number" as const), index: fc.nat({ max: 16 }), text: fc.constantFrom("1e400", "18446744073709551616", "-1", "1.5", "9".repeat(400), "0x10") }),
  fc.record({ kind: fc.constant("deep-nesting" as const), depth: fc.constantFrom(64, 1000, 100_000) }),
  fc.record({ kind: fc.constant("invalid-utf8" as const), at: fc.nat({ max: 4096 }) }),
  fc.record({ kind: fc.constant("not-json" as const), text: fc.constantFrom("", "{", "}", "{'a':1}", "{\"a\":1,}", "NaN", "\u0000", "{\"accountId\":\"x\"}{}") }),
  fc.record({ kind: fc.constant("not-an-object" as const), text: fc.constantFrom("[]", "1", "\"x\"", "true") }),
  fc.record({ kind: fc.constant("null-field" as const), index: fc.nat({ max: 16 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat({ max: 4096 }) }),
);

export interface MutatedJson {
  bytes: Uint8Array;
  refused: boolean;
}

const encode = (text: string) => new TextEncoder().encode(text);

export function mutateJson(schema: DescMessage, valid: Record<string, unknown>, mutation: JsonMutation): MutatedJson {
  const fields = schema.fields;
  const pick = (index: number) => fields[index % Math.max(fields.length, 1)];
  switch (mutation.kind) {
    case "none":
      return { bytes: encode(JSON.stringify(valid)), refused: false };
    case "wrong-type": {
      const field = pick(mutation.index);
      if (field === undefined) return { bytes: encode(JSON.stringify(valid)), refused: false };
      const value = { number: 7, object: { a: 1 }, array: [1], bool: true }[mutation.value];
      // Numbers are a valid spelling of enums and integers; a message takes an object.
      const stillValid =
        (mutation.value === "number" && (field.fieldKind === "enum" || (field.fieldKind === "scalar" && field.scalar !== ScalarType.STRING))) ||
        (mutation.value === "object" && field.fieldKind === "message");
      return { bytes: encode(JSON.stringify({ ...valid, [field.jsonName]: value })), refused: !stillValid };
    }
    case "unknown-field":
      // Unknown fields are ignored on every path (a newer client's fields reach an older server).
      return { bytes: encode(JSON.stringify(valid).replace(/^\{/, `{${JSON.stringify(mutation.name)}:1,`).replace(/,\}$/, "}")), refused: false };
    case "huge-number": {
      const field = pick(mutation.index);
      if (field === undefined) return { bytes: encode(JSON.stringify(valid)), refused: false };
      const json = JSON.stringify({ ...valid, [field.jsonName]: 0 }).replace(`"${field.jsonName}":0`, `"${field.jsonName}":${mutation.text}`);
      // Out of range or not an integer for every numeric and enum field; not a string or message either.
      const refused = field.fieldKind === "message" || field.fieldKind === "enum" || field.fieldKind === "scalar";
      return { bytes: encode(json), refused };
    }
    case "deep-nesting": {
      const first = fields[0];
      const name = first === undefined ? "x" : first.jsonName;
      // In a message without fields the name is unknown, and unknown fields are ignored.
      return { bytes: encode(`{"${name}":${"[".repeat(mutation.depth)}${"]".repeat(mutation.depth)}}`), refused: first !== undefined };
    }
    case "invalid-utf8": {
      const bytes = encode(JSON.stringify(valid));
      // Put a byte that never occurs in UTF-8 inside a string value (or the object, if none).
      const quote = bytes.lastIndexOf(0x22);
      const at = quote > 0 ? quote : 1;
      return { bytes: Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at)]), refused: true };
    }
    case "not-json":
      return { bytes: encode(mutation.text), refused: true };
    case "not-an-object":
      return { bytes: encode(mutation.text), refused: true };
    case "null-field": {
      const field = pick(mutation.index);
      if (field === undefined) return { bytes: encode(JSON.stringify(valid)), refused: false };
      return { bytes: encode(JSON.stringify({ ...valid, [field.jsonName]: null })), refused: false };
    }
    case "truncate": {
      const bytes = encode(JSON.stringify(valid));
      const at = mutation.at % bytes.length;
      return { bytes: bytes.subarray(0, at), refused: true };
    }
  }
}
