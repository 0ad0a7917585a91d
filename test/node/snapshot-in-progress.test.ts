// A snapshot taken a slice at a time while commands keep changing the ledger holds exactly
// the ledger as it was when the snapshot began.
import { expect, test } from "bun:test";
import type { Command } from "../../src/core/command.ts";
import { encodeLedger } from "../../src/core/ledger-codec.ts";
import { apply, decide, type Ledger } from "../../src/core/state-machine.ts";
import { SnapshotInProgress } from "../../src/node/snapshot-in-progress.ts";

function run(ledger: Ledger, command: Command, snapshot?: SnapshotInProgress): void {
  snapshot?.beforeChange(command.accountId);
  const decision = decide(ledger, command);
  if (!decision.ok) throw new Error(decision.rejection.message);
  for (const event of decision.events) apply(ledger, command.accountId, event);
}

const open = (accountId: string) => [
  { kind: "create_account", accountId, atMs: 1 } as const,
  { kind: "deposit", accountId, amount: 1_000_000n, atMs: 2 } as const,
];

test("changes made while a snapshot is in progress are not in it; accounts created meanwhile are not either", () => {
  const ledger: Ledger = new Map();
  for (const id of ["a", "b", "c", "d"]) for (const command of open(id)) run(ledger, command);
  const expected = encodeLedger(ledger);

  const snapshot = new SnapshotInProgress(ledger);
  expect(snapshot.step(0)).toBe(false); // one account per slice at a zero budget
  run(ledger, { kind: "deposit", accountId: "c", amount: 5n, atMs: 3 }, snapshot); // not yet encoded: encoded first
  run(ledger, { kind: "deposit", accountId: "a", amount: 7n, atMs: 3 }, snapshot); // already encoded
  for (const command of open("e")) run(ledger, command, snapshot);
  let done = false;
  for (let slices = 0; slices < 10 && !done; slices++) done = snapshot.step(0);
  expect(done).toBe(true);

  expect(snapshot.finish()).toEqual(expected);
  expect(ledger.get("c")?.cash).toBe(1_000_005n); // the ledger itself moved on
});

test("a large shard is joined over several slices too, while commands change it, into the bytes it had when the snapshot began", () => {
  const ledger: Ledger = new Map();
  for (const id of ["a", "b", "c"]) {
    for (const command of open(id)) run(ledger, command);
    // 2,000 resting orders (~200 B each as a tuple): each account's part is over the join's chunk of 256 KiB.
    for (let i = 0; i < 2_000; i++) {
      const orderId = `${id}-order-${i}`;
      run(ledger, { kind: "submit_order", accountId: id, orderId, clientOrderId: orderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "gtc", qty: 1n, limitPrice: 1n, stopPrice: null, askPrice: 0n, atMs: 3 });
    }
  }
  const expected = encodeLedger(ledger);
  const snapshot = new SnapshotInProgress(ledger);
  let slices = 1;
  while (!snapshot.step(0)) {
    expect(() => snapshot.finish()).toThrow();
    run(ledger, { kind: "deposit", accountId: ["a", "b", "c"][slices % 3] as string, amount: 1n, atMs: 4 }, snapshot);
    slices += 1;
  }
  expect(slices).toBeGreaterThan(ledger.size + 1); // encoding took one slice per account; joining took more than one
  expect(snapshot.finish()).toEqual(expected);
});
