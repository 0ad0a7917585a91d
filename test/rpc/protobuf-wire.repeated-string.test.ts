// WireReader.repeatedString gives back the cached string for text it has seen, found by the
// bytes: these tests check it never returns another text, whatever shares its slot.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { WireFormatError, WireReader, WireWriter } from "../../src/rpc/protobuf-wire.ts";

function encoded(texts: readonly string[]): Uint8Array {
  const writer = new WireWriter();
  writer.reset();
  for (const text of texts) expect(writer.string(text)).toBe(true);
  return writer.finish();
}

function readBack(bytes: Uint8Array, count: number): string[] {
  const reader = new WireReader();
  reader.reset(bytes);
  const texts: string[] = [];
  for (let i = 0; i < count; i += 1) texts.push(reader.repeatedString("text"));
  return texts;
}

describe("WireReader.repeatedString", () => {
  test("many more distinct short texts than slots, read twice: each reads as itself", () => {
    // 20,000 texts over 4,096 slots: most slots are shared, so a check on length or hash alone
    // would hand back a different text of the same length.
    const texts = Array.from({ length: 20_000 }, (_, i) => `S${(i * 7919) % 100_000}`.padEnd(6, "x"));
    const twice = [...texts, ...texts.slice().reverse()];
    expect(readBack(encoded(twice), twice.length)).toEqual(twice);
  });

  test("any text, ASCII or not, short or long, reads as itself", () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom("A", "B", "a", "-", "0"), maxLength: 8 }),
      fc.string({ unit: "binary", maxLength: 50 }).filter((s) => s.isWellFormed()),
      fc.string({ maxLength: 60 }),
    );
    fc.assert(
      fc.property(fc.array(text, { maxLength: 200 }), (texts) => {
        expect(readBack(encoded(texts), texts.length)).toEqual(texts);
      }),
      { numRuns: 300, seed: 4_242 },
    );
  });

  test("a length past the message's end is refused naming the field", () => {
    const reader = new WireReader();
    reader.reset(new Uint8Array([5, 65, 66]));
    expect(() => reader.repeatedString("terms.symbol")).toThrow(WireFormatError);
    reader.reset(new Uint8Array([5, 65, 66]));
    expect(() => reader.repeatedString("terms.symbol")).toThrow(/terms\.symbol/);
  });

  test("invalid UTF-8 is refused as string() refuses it", () => {
    const reader = new WireReader();
    reader.reset(new Uint8Array([2, 0xc3, 0x28]));
    expect(() => reader.repeatedString("account_id")).toThrow(/account_id: not valid UTF-8/);
  });
});
