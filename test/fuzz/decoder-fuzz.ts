// Fuzzing the two decoders that rebuild state from bytes on disk: the log record decoder
// (src/log/record-codec.ts) and the snapshot decoder (src/core/ledger-codec.ts). Inputs are
// random bytes and valid encodings damaged (cut, a byte changed, bytes inserted or spliced
// from another encoding). Each must give a clear refusal (an Error naming the record or the
// snapshot) or a value; never another kind of exception, and never a value that does not
// survive its own round trip (encoding it again must give bytes that decode to the same value).
// A value that is a valid but different state is counted, not failed: neither format carries a
// checksum, so a damaged digit can read as another valid number; the counts show how often.
import fc from "fast-check";
import { checkInvariants } from "../../src/core/invariants.ts";
import { decodeLedger, encodeLedger } from "../../src/core/ledger-codec.ts";
import type { Ledger } from "../../src/core/state-machine.ts";
import { decodeRecord, encodeRecord } from "../../src/log/record-codec.ts";
import { canonical, cancel, createAccount, deposit, fill, run, submit, usd } from "../core/fixtures.ts";
import { eventArbitrary, headerArbitrary, text } from "../log/record-arbitraries.ts";

export interface DecoderFuzzSummary {
  /** Refused with a clear error. */
  refused: number;
  /** Read back as exactly the value that was encoded (damage that changed nothing, e.g. a cut between fields of a record). */
  same: number;
  /** Read as a valid value other than the one encoded: what only a checksum would catch. */
  different: number;
  /** Of the different ledgers, how many the invariant check at recovery refuses. */
  caughtByInvariants: number;
  /** Different values by the damage that made them. */
  differentByDamage: Record<string, number>;
}

function emptySummary(): DecoderFuzzSummary {
  return { refused: 0, same: 0, different: 0, caughtByInvariants: 0, differentByDamage: {} };
}

function countDifferent(summary: DecoderFuzzSummary, damage: Damage): void {
  summary.different += 1;
  summary.differentByDamage[damage.kind] = (summary.differentByDamage[damage.kind] ?? 0) + 1;
}

export type Damage =
  | { kind: "none" }
  | { kind: "cut"; at: number }
  | { kind: "set-byte"; at: number; value: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "splice"; at: number; length: number; from: number }
  | { kind: "random"; bytes: Uint8Array };

export const damageArbitrary: fc.Arbitrary<Damage> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("set-byte" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }), from: fc.nat() }),
  fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
);

export function damaged(bytes: Uint8Array, damage: Damage): Uint8Array {
  const n = Math.max(bytes.length, 1);
  switch (damage.kind) {
    case "none":
      return bytes;
    case "cut":
      return bytes.subarray(0, damage.at % n);
    case "set-byte": {
      const copy = new Uint8Array(bytes);
      if (copy.length > 0) copy[damage.at % n] = damage.value;
      return copy;
    }
    case "insert":
      return Buffer.concat([bytes.subarray(0, damage.at % n), damage.bytes, bytes.subarray(damage.at % n)]);
    case "splice": {
      // A run of the encoding's own bytes copied over another place: plausible bytes in the wrong spot.
      const from = bytes.subarray(damage.from % n, (damage.from % n) + damage.length);
      const copy = new Uint8Array(bytes);
      copy.set(from.subarray(0, Math.max(0, copy.length - (damage.at % n))), damage.at % n);
      return copy;
    }
    case "random":
      return damage.bytes;
  }
}

/** A refusal must be a plain Error naming what was being read, never a TypeError or RangeError from inside. */
function expectClearRefusal(error: unknown, prefix: string): void {
  if (!(error instanceof Error) || error.constructor !== Error || !error.message.startsWith(prefix)) {
    throw new Error(`not a clear refusal (wanted an Error starting "${prefix}"): ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`, { cause: error });
  }
}

const recordArbitrary = fc.record({ header: headerArbitrary, accountId: text, events: fc.array(eventArbitrary, { maxLength: 4 }) });

export function fuzzRecordDecoder(runs: number, seed: number, path?: string): DecoderFuzzSummary {
  const summary = emptySummary();
  fc.assert(
    fc.property(recordArbitrary, damageArbitrary, ({ header, accountId, events }, damage) => {
      const original = { header, record: { accountId, events } };
      const bytes = damaged(encodeRecord(header, original.record), damage);
      let read: ReturnType<typeof decodeRecord>;
      try {
        read = decodeRecord(bytes);
      } catch (error) {
        expectClearRefusal(error, "log record: ");
        summary.refused += 1;
        return;
      }
      // What was read must be a record the writer would write, and read back the same.
      const again = decodeRecord(encodeRecord(read.header, read.record));
      if (canonical(again) !== canonical(read)) throw new Error(`a decoded record does not survive its round trip: ${canonical(read)}`);
      if (canonical(read) === canonical(original)) summary.same += 1;
      else countDifferent(summary, damage);
    }),
    { numRuns: runs, seed, ...(path === undefined ? {} : { path }), verbose: 0 },
  );
  return summary;
}

type LedgerStep =
  | { kind: "deposit"; cents: number }
  | { kind: "buy"; qty: number; cents: number }
  | { kind: "fill"; order: number; qty: number; cents: number }
  | { kind: "cancel"; order: number };

const stepArbitrary: fc.Arbitrary<LedgerStep> = fc.oneof(
  fc.record({ kind: fc.constant("deposit" as const), cents: fc.integer({ min: 1, max: 10_000_000 }) }),
  fc.record({ kind: fc.constant("buy" as const), qty: fc.integer({ min: 1, max: 50 }), cents: fc.integer({ min: 1, max: 50_000 }) }),
  fc.record({ kind: fc.constant("fill" as const), order: fc.nat({ max: 8 }), qty: fc.integer({ min: 1, max: 50 }), cents: fc.integer({ min: 1, max: 50_000 }) }),
  fc.record({ kind: fc.constant("cancel" as const), order: fc.nat({ max: 8 }) }),
);

/** A ledger as the state machine leaves it after `steps` (refused steps change nothing, as in a node). */
function ledgerOf(steps: readonly LedgerStep[]): Ledger {
  const ledger: Ledger = new Map();
  run(ledger, createAccount());
  run(ledger, deposit(usd("1000")));
  let orders = 0;
  let executions = 0;
  for (const step of steps) {
    const price = BigInt(step.kind === "cancel" ? 0 : step.cents) * 100n;
    if (step.kind === "deposit") run(ledger, deposit(price));
    else if (step.kind === "buy") {
      orders += 1;
      run(ledger, submit({ orderId: `ord-${orders}`, qty: BigInt(step.qty), limitPrice: price, askPrice: price }));
    } else if (step.kind === "fill") {
      executions += 1;
      run(ledger, fill(`ord-${(step.order % Math.max(orders, 1)) + 1}`, executions, BigInt(step.qty), price));
    } else run(ledger, cancel(`ord-${(step.order % Math.max(orders, 1)) + 1}`));
  }
  return ledger;
}

export function fuzzLedgerDecoder(runs: number, seed: number, path?: string): DecoderFuzzSummary {
  const summary = emptySummary();
  fc.assert(
    fc.property(fc.array(stepArbitrary, { maxLength: 12 }), damageArbitrary, (steps, damage) => {
      const original = ledgerOf(steps);
      const bytes = damaged(encodeLedger(original), damage);
      let read: Ledger;
      try {
        read = decodeLedger(bytes);
      } catch (error) {
        expectClearRefusal(error, "ledger snapshot");
        summary.refused += 1;
        return;
      }
      const again = decodeLedger(encodeLedger(read));
      if (canonical(again) !== canonical(read)) throw new Error(`a decoded snapshot does not survive its round trip: ${canonical(read)}`);
      if (canonical(read) === canonical(original)) {
        summary.same += 1;
        return;
      }
      countDifferent(summary, damage);
      try {
        for (const account of read.values()) checkInvariants(account);
      } catch {
        summary.caughtByInvariants += 1;
      }
    }),
    { numRuns: runs, seed, ...(path === undefined ? {} : { path }), verbose: 0 },
  );
  return summary;
}
