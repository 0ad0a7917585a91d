// The hand-written record codec against the generated one (protobuf-es over the published
// schema, with the mapping the codec had before: record-codec.reference.ts), both ways: the log
// is read by other services with the generated schema, and old records were written by it.
import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary, type Message } from "@bufbuild/protobuf";
import fc from "fast-check";
import { RecordSchema } from "../../src/gen/oms/log/v1/events_pb.ts";
import { decodeRecord, encodeRecord } from "../../src/log/record-codec.ts";
import { eventArbitrary, headerArbitrary, text, unknownFieldArbitrary, wireRecordArbitrary, type UnknownField } from "./record-arbitraries.ts";
import { decodeRecordGeneric, encodeRecordGeneric } from "./record-codec.reference.ts";

const RUNS = 1000;

type Outcome = { ok: true; value: unknown } | { ok: false; message: string };

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { ok: false, message: error.message };
  }
}

/** Gives each message of the record, nested ones too, the unknown fields of one pool entry. */
function withUnknownFields(init: Parameters<typeof create<typeof RecordSchema>>[1], pool: UnknownField[][]): Uint8Array {
  const record = create(RecordSchema, init);
  const messages: Message[] = [record];
  if (record.header !== undefined) messages.push(record.header);
  for (const event of record.events) {
    messages.push(event);
    if (event.kind.case === undefined) continue;
    messages.push(event.kind.value);
    if ("terms" in event.kind.value && event.kind.value.terms !== undefined) messages.push(event.kind.value.terms);
  }
  messages.forEach((message, index) => {
    const unknown = pool[index % pool.length] ?? [];
    if (unknown.length > 0) (message as { $unknown?: UnknownField[] }).$unknown = unknown;
  });
  return toBinary(RecordSchema, record);
}

function expectSameOutcome(bytes: Uint8Array): void {
  const generic = outcome(() => decodeRecordGeneric(bytes));
  const handWritten = outcome(() => decodeRecord(bytes));
  if (generic.ok) expect(handWritten).toEqual(generic);
  else {
    expect(handWritten.ok).toBe(false);
    if (!handWritten.ok) expect(handWritten.message).toStartWith("log record: ");
  }
}

describe("record codec against the generated protobuf-es codec", () => {
  test("the encoder writes the bytes toBinary writes, which fromBinary reads back to the same record", () => {
    fc.assert(
      fc.property(headerArbitrary, text, fc.array(eventArbitrary, { maxLength: 6 }), (header, accountId, events) => {
        const record = { accountId, events };
        const bytes = encodeRecord(header, record);
        expect(bytes).toEqual(encodeRecordGeneric(header, record));
        expect(fromBinary(RecordSchema, bytes)).toEqual(fromBinary(RecordSchema, encodeRecordGeneric(header, record)));
        expect(decodeRecordGeneric(bytes)).toEqual({ header, record });
      }),
      { numRuns: RUNS, seed: 4_001 },
    );
  });

  test("whatever toBinary writes, the decoder reads as the generated decoder does, or both refuse it", () => {
    fc.assert(
      fc.property(wireRecordArbitrary, (init) => expectSameOutcome(toBinary(RecordSchema, create(RecordSchema, init)))),
      { numRuns: RUNS, seed: 4_002 },
    );
  });

  test("unknown fields of every wire type, in every message, are skipped as protobuf skips them", () => {
    const pool = fc.array(fc.array(unknownFieldArbitrary, { maxLength: 2 }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(wireRecordArbitrary, pool, (init, unknown) => expectSameOutcome(withUnknownFields(init, unknown))),
      { numRuns: RUNS, seed: 4_003 },
    );
  });

  test("two records' bytes one after the other read as protobuf merges them", () => {
    // Concatenated messages merge: the header field by field, the events appended, the
    // account's last value winning; a oneof's kind repeated merges, a different kind replaces.
    fc.assert(
      fc.property(wireRecordArbitrary, wireRecordArbitrary, (first, second) => {
        const bytes = new Uint8Array([...toBinary(RecordSchema, create(RecordSchema, first)), ...toBinary(RecordSchema, create(RecordSchema, second))]);
        expectSameOutcome(bytes);
      }),
      { numRuns: RUNS, seed: 4_004 },
    );
  });

  test("an event whose kind message comes twice merges the two, as fromBinary does", () => {
    const accepted = create(RecordSchema, {
      header: { formatVersion: 1, shard: 1, sequence: 3n },
      accountId: "acct-1",
      events: [{ kind: { case: "orderAccepted", value: { terms: { id: "ord-1", side: 1, type: 2, timeInForce: 1, limitPriceE4: 5n }, holdCashE4: 10n, atMs: 7n } } }],
    });
    const again = create(RecordSchema, {
      events: [{ kind: { case: "orderAccepted", value: { terms: { symbol: "AAPL", qty: 3n }, holdQty: 2n } } }],
    });
    const first = toBinary(RecordSchema, accepted);
    // The second record's event body, spliced into the first's event: Event.order_accepted twice.
    const eventBody = toBinary(RecordSchema, again).subarray(2);
    const firstEventAt = first.indexOf(0x1a);
    const merged = new Uint8Array([...first.subarray(0, firstEventAt), 0x1a, first[firstEventAt + 1]! + eventBody.length, ...first.subarray(firstEventAt + 2), ...eventBody]);
    const decoded = decodeRecord(merged);
    expect(decoded).toEqual(decodeRecordGeneric(merged));
    const event = decoded.record.events[0];
    expect(event?.kind === "order_accepted" && event.terms).toMatchObject({ id: "ord-1", symbol: "AAPL", qty: 3n, limitPrice: 5n });
  });

  test("an OrderAccepted written with the fingerprint field (reserved 2, commit a427d95) still decodes, the field ignored", () => {
    const record = create(RecordSchema, {
      header: { formatVersion: 1, shard: 2, epoch: 1n, sequence: 9n },
      accountId: "acct-1",
      events: [{ kind: { case: "orderAccepted", value: { terms: { id: "ord-1", clientOrderId: "c-1", symbol: "MSFT", side: 2, type: 1, timeInForce: 3, qty: 4n }, holdQty: 4n, atMs: 11n } } }],
    });
    const fingerprint = new TextEncoder().encode("sha256:0123456789abcdef");
    const value = record.events[0]?.kind.value as Message;
    (value as { $unknown?: UnknownField[] }).$unknown = [{ no: 2, wireType: 2, data: new Uint8Array([fingerprint.length, ...fingerprint]) }];
    const bytes = toBinary(RecordSchema, record);
    expect(fromBinary(RecordSchema, bytes).events[0]?.kind.value?.$unknown).toHaveLength(1);
    expect(decodeRecord(bytes)).toEqual(decodeRecordGeneric(bytes));
    expect(decodeRecord(bytes).record.events[0]).toMatchObject({ kind: "order_accepted", holdQty: 4n, atMs: 11 });
  });
});
