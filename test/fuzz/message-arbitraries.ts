// Request messages generated from the schema: every field of every public request, set or not,
// with values that are valid, at a bound, or wrong in the ways a client gets them wrong
// (unicode, NUL, over-long text, numbers out of range, enum values the schema does not name).
// Field names pick plausible values, so that a fair share of requests pass the domain's checks.
import { create, ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import fc from "fast-check";

/** Text that has broken parsers and ids: NUL, lone surrogates, RTL marks, emoji, very long. */
export const awkwardText = fc.oneof(
  fc.constantFrom("", " ", "\u0000", "a\u0000b", "\uD800", "\uDFFF", "\u202E", "e\u0301", "😀", "Ω".repeat(64), "%00", "../../etc", "'; drop table orders;--", "\r\n", "a".repeat(129), "a".repeat(5000)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

const decimal = fc.oneof(
  fc.constantFrom("1", "0", "-1", "0.0001", "0.00001", "1.00", "100", "1e3", "1.5", "01", "+1", ".5", "5.", "NaN", "Infinity", "99999999999999999999999", "1_000", " 1"),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
  awkwardText,
);

/** Values for string fields, by the field's name. */
function stringFor(field: DescField, accountId: string): fc.Arbitrary<string> {
  switch (field.name) {
    case "account_id":
      return fc.oneof({ weight: 4, arbitrary: fc.constant(accountId) }, { weight: 1, arbitrary: awkwardText });
    case "symbol":
      return fc.oneof(fc.constantFrom("AAPL", "MSFT", "aapl", "ZZZZ"), awkwardText);
    case "qty":
    case "amount":
    case "limit_price":
    case "stop_price":
      return decimal;
    case "client_order_id":
      return fc.oneof(fc.uuid(), awkwardText);
    default:
      return awkwardText;
  }
}

function scalarFor(field: DescField & { fieldKind: "scalar" | "enum" }, accountId: string): fc.Arbitrary<unknown> {
  if (field.fieldKind === "enum") {
    const named = field.enum.values.map((value) => value.number);
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...named) }, { weight: 1, arbitrary: fc.constantFrom(-1, 99, 2 ** 31 - 1) });
  }
  const kind = field.scalar;
  if (kind === ScalarType.STRING) return stringFor(field, accountId);
  if (kind === ScalarType.UINT32) return fc.oneof(fc.constantFrom(0, 1, 500, 501, 2 ** 32 - 1), fc.nat());
  if (kind === ScalarType.UINT64) return fc.oneof(fc.constantFrom(0n, 1n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
  if (kind === ScalarType.BOOL) return fc.boolean();
  return fc.constant(undefined);
}

/** A message of `schema`, its account fields aimed at `accountId` most of the time. */
export function messageArbitrary(schema: DescMessage, accountId: string, depth = 0): fc.Arbitrary<Message> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of schema.fields) {
    if (field.fieldKind === "scalar" || field.fieldKind === "enum") parts[field.localName] = scalarFor(field, accountId);
    else if (field.fieldKind === "message" && depth < 2) parts[field.localName] = messageArbitrary(field.message, accountId, depth + 1);
  }
  // Oneof members: at most one is set, the last one given wins in create(); set one or none.
  return fc.record(parts, { requiredKeys: [] }).map((init) => {
    const message = create(schema) as Message & Record<string, unknown>;
    for (const member of schema.members) {
      if (member.kind === "oneof") {
        const chosen = member.fields.find((field) => init[field.localName] !== undefined);
        if (chosen !== undefined) (message[member.localName] as { case: string; value: unknown }) = { case: chosen.localName, value: init[chosen.localName] };
      } else if (init[member.localName] !== undefined) {
        message[member.localName] = init[member.localName];
      }
    }
    return message;
  });
}
