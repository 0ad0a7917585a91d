// The log record and snapshot decoders on random and damaged bytes (decoder-fuzz.ts): a clear
// refusal or a value that survives its round trip, never another exception, thousands of cases.
// OMS_FUZZ_SEED picks other cases than the fixed seed; a failure prints the seed and the path.
import { expect, test } from "bun:test";
import { fuzzLedgerDecoder, fuzzRecordDecoder } from "./decoder-fuzz.ts";

const SEED = Number(process.env["OMS_FUZZ_SEED"] ?? 1_010);
const RUNS = 5_000;

test(`log records: ${RUNS} random and damaged encodings are refused clearly or read as a record that round-trips (seed ${SEED})`, () => {
  const summary = fuzzRecordDecoder(RUNS, SEED);
  expect(summary.refused + summary.same + summary.different).toBe(RUNS);
  // The damage must reach the decoder's refusals, or this test proves nothing.
  expect(summary.refused).toBeGreaterThan(RUNS / 2);
});

test(`snapshots: ${RUNS} random and damaged encodings are refused clearly or read as a ledger that round-trips (seed ${SEED})`, () => {
  const summary = fuzzLedgerDecoder(RUNS, SEED);
  expect(summary.refused + summary.same + summary.different).toBe(RUNS);
  expect(summary.refused).toBeGreaterThan(RUNS / 2);
});
