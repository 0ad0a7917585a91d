// The shards a node holds as /metrics shows them: ownership and epoch from the leases, accounts
// and open orders counted from the ledgers when scraped. Counting walks every order (~20 ms per
// million on this machine), so it goes in slices between commands, as a snapshot's encoding
// does, each timed as main-thread work, rather than stopping the node for the whole walk; a
// count may therefore mix moments a few milliseconds apart, which a gauge can afford.
import { hotOrderSlots } from "../core/order-list.ts";
import { isOpen } from "../core/order.ts";
import type { Ledger } from "../core/state-machine.ts";
import { MAIN_THREAD_SLICE_MS, observeJob } from "../metrics/main-thread-work.ts";
import type { ShardFigures } from "../metrics/node-metrics.ts";

export interface HeldShard {
  shard: number;
  epoch: bigint;
  owned: boolean;
  /** Undefined while the shard is still replaying. */
  ledger: Ledger | undefined;
}

export async function shardFigures(held: readonly HeldShard[]): Promise<ShardFigures[]> {
  const figures: ShardFigures[] = [];
  for (const { shard, epoch, owned, ledger } of held) {
    const openOrders = ledger === undefined ? null : await openOrdersIn(ledger);
    figures.push({ shard, owned, epoch, accounts: ledger?.size ?? null, openOrders });
  }
  return figures;
}

async function openOrdersIn(ledger: Ledger): Promise<number> {
  let open = 0;
  let sliceStartedMs = performance.now();
  // A snapshot of the accounts: one opened while the count yields is left for the next scrape.
  for (const account of [...ledger.values()]) {
    for (const order of hotOrderSlots(account)) if (order !== null && isOpen(order.status)) open += 1;
    const sliceMs = performance.now() - sliceStartedMs;
    if (sliceMs >= MAIN_THREAD_SLICE_MS) {
      observeJob("open_order_count", sliceMs / 1000);
      await new Promise((resolve) => setImmediate(resolve));
      sliceStartedMs = performance.now();
    }
  }
  observeJob("open_order_count", (performance.now() - sliceStartedMs) / 1000);
  return open;
}
