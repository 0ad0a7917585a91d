// Damaged and truncated records: the decoder refuses them with an Error that names the field by
// its path in the record (which event, which field) and the byte, and never fails otherwise.
// That the generated decoder under it reads what fromBinary reads is test/gen's to prove.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Event } from "../../src/core/event.ts";
import { decodeRecord, encodeRecord, type RecordHeader } from "../../src/log/record-codec.ts";
import { eventArbitrary, headerArbitrary, text } from "./record-arbitraries.ts";

const header: RecordHeader = { shard: 3, epoch: 2n, sequence: 41n };
const accepted: Event = {
  kind: "order_accepted",
  terms: {
    id: "ord-1",
    clientOrderId: "client-1",
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    timeInForce: "day",
    qty: 100n,
    limitPrice: 1_892_500n,
    stopPrice: null,
    collarPrice: 1_892_500n,
    replaces: null,
  },
  holdCash: 189_250_000n,
  holdQty: 0n,
  atMs: 1_700_000_000_000,
};
const filled: Event = { kind: "order_filled", orderId: "ord-1", executionSeq: 12, qty: 40n, price: 1_890_000n, atMs: 1_700_000_000_001 };
const bytes = encodeRecord(header, { accountId: "acct-1", events: [accepted, filled] });

function refusal(damaged: Uint8Array): string {
  try {
    decodeRecord(damaged);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  }
  throw new Error("the damaged record was read");
}

/** Where in `bytes` the UTF-8 of `text` starts, its first or last time. */
function offsetOf(text: string, which: "first" | "last" = "first"): number {
  const needle = new TextEncoder().encode(text);
  const starts: number[] = [];
  for (let at = 0; at + needle.length <= bytes.length; at += 1) {
    if (needle.every((byte, index) => bytes[at + index] === byte)) starts.push(at);
  }
  const found = which === "first" ? starts[0] : starts[starts.length - 1];
  if (found === undefined) throw new Error(`${text} is not in the record`);
  return found;
}

describe("record codec on damaged bytes", () => {
  test("a record cut short anywhere is refused, or reads as the whole events before the cut", () => {
    fc.assert(
      fc.property(headerArbitrary, text, fc.array(eventArbitrary, { minLength: 1, maxLength: 4 }), (anyHeader, accountId, events) => {
        const whole = encodeRecord(anyHeader, { accountId, events });
        for (let length = 0; length < whole.length; length += 1) {
          let read: ReturnType<typeof decodeRecord>;
          try {
            read = decodeRecord(whole.subarray(0, length));
          } catch (error) {
            expect((error as Error).constructor).toBe(Error);
            expect((error as Error).message).toStartWith("log record: ");
            continue;
          }
          // A cut between fields can leave a shorter record: only whole events, in order.
          expect(events.slice(0, read.record.events.length)).toEqual(read.record.events);
        }
      }),
      { numRuns: 200, seed: 5_001 },
    );
  });

  test("a changed byte is refused with a log record error or read as a record, never a crash", () => {
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const damaged = new Uint8Array(bytes);
        damaged[at] = value;
        try {
          decodeRecord(damaged);
        } catch (error) {
          // Never a TypeError or RangeError from reading past the end: a refusal that names the record.
          expect((error as Error).constructor).toBe(Error);
          expect((error as Error).message).toStartWith("log record: ");
        }
      }),
      { numRuns: 3000, seed: 5_002 },
    );
  });

  test("a string whose length runs past its message names the event, the field and the byte", () => {
    const damaged = new Uint8Array(bytes);
    const at = offsetOf("AAPL") - 1;
    damaged[at] = 100;
    expect(refusal(damaged)).toBe(
      `log record: not a valid oms.log.v1.Record.events[0].order_accepted.terms.symbol: length 100 runs past the end (at byte ${at + 1} of ${bytes.length})`,
    );
  });

  test("a string that is not UTF-8 names the field", () => {
    const damaged = new Uint8Array(bytes);
    damaged[offsetOf("ord-1") + 3] = 0xff;
    expect(refusal(damaged)).toMatch(/^log record: not a valid oms\.log\.v1\.Record\.events\[0\]\.order_accepted\.terms\.id: not valid UTF-8 \(at byte \d+ of \d+\)$/);
    // Long text goes through TextDecoder rather than the inline ASCII path: refused all the same.
    const long = encodeRecord(header, { accountId: "a".repeat(100), events: [] });
    long[long.length - 1] = 0xc3;
    expect(refusal(long)).toMatch(/account_id: not valid UTF-8/);
  });

  test("a known field with another wire type than the schema's is refused, naming it", () => {
    const damaged = new Uint8Array(bytes);
    // The execution_seq tag (field 2, varint) after the fill's order id, turned into fixed64.
    const tagAt = offsetOf("ord-1", "last") + "ord-1".length;
    expect(damaged[tagAt]).toBe(0x10);
    damaged[tagAt] = 0x11;
    expect(refusal(damaged)).toMatch(/^log record: not a valid oms\.log\.v1\.Record\.events\[1\]\.order_filled\.execution_seq: wire type 1 is not the schema's/);
  });

  test("a trading state changed to a value the schema does not have is refused, naming the field", () => {
    const record = { accountId: "acct-1", events: [{ kind: "trading_state_set", tradingState: "trading_blocked", atMs: 1 } as Event] };
    const whole = encodeRecord(header, record);
    // TradingStateSet's field 1 (varint): its tag 0x08, then TRADING_BLOCKED (2).
    const at = whole.findIndex((byte, index) => byte === 0x08 && whole[index + 1] === 2 && index > whole.length - 6);
    expect(at).toBeGreaterThan(0);
    for (const [value, problem] of [[0, "trading_state: 0 is not a known value"], [9, "trading_state: 9 is not a known value"]] as const) {
      const damaged = new Uint8Array(whole);
      damaged[at + 1] = value;
      expect(refusal(damaged)).toBe(`log record: event 0: ${problem}`);
    }
  });

  test("a varint that never ends is refused", () => {
    const damaged = new Uint8Array([0x0a, 0x03, 0x08, 0xff, 0xff]);
    expect(refusal(damaged)).toBe("log record: not a valid oms.log.v1.Record.header.format_version: varint runs past the end (at byte 3 of 5)");
    const tooLong = new Uint8Array([0x0a, 0x0b, 0x08, ...Array<number>(10).fill(0xff)]);
    expect(refusal(tooLong)).toMatch(/header\.format_version: varint is longer than 10 bytes/);
  });

  test("an illegal tag or a stray end-group is refused", () => {
    expect(refusal(new Uint8Array([0x07]))).toMatch(/tag: illegal field number 0 with wire type 7/);
    expect(refusal(new Uint8Array([0x0e]))).toMatch(/tag: illegal field number 1 with wire type 6/);
    expect(refusal(new Uint8Array([0x7c]))).toMatch(/Record\.field 15: unexpected end-group tag for field 15/);
    expect(refusal(new Uint8Array([0x7b, 0x08, 0x01]))).toMatch(/Record\.field 15: group has no end tag/);
  });
});
