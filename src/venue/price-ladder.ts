// One side's resting orders at the simulated venue in price-time priority: the best price
// first and, at one price, first come first served. A tick looks only at the front of the
// ladder and stops at the first order that may not trade, so resting orders far from the
// market cost nothing per tick however many there are.
import type { Price } from "../core/money.ts";
import { invariant } from "./invariant.ts";

/** Which prices come first: "higher" for buy limits, "lower" for sell limits. */
export type BetterPrice = "higher" | "lower";

export class PriceLadder<T> {
  readonly #better: BetterPrice;
  /** Each level keeps its orders in arrival order (a Map iterates in insertion order). */
  readonly #levels = new Map<Price, Map<string, T>>();
  /**
   * The prices that have orders, worst first: the best level is the last element, so filling
   * the front of the ladder empties levels with a pop. A level elsewhere is found by binary
   * search; adding or dropping it moves at most one element per other level (a memmove).
   */
  readonly #prices: Price[] = [];
  #size = 0;

  constructor(better: BetterPrice) {
    this.#better = better;
  }

  /** Orders resting on the ladder, all levels together. */
  get size(): number {
    return this.#size;
  }

  /** The order with the best priority: the first to arrive at the best price. */
  first(): T | undefined {
    const price = this.#prices[this.#prices.length - 1];
    if (price === undefined) return undefined;
    const level = this.#levels.get(price);
    invariant(level !== undefined && level.size > 0, `ladder level ${price} exists and holds orders`);
    return level.values().next().value;
  }

  /** Queues the order last at its price. */
  add(price: Price, orderId: string, item: T): void {
    let level = this.#levels.get(price);
    if (level === undefined) {
      level = new Map();
      this.#levels.set(price, level);
      this.#prices.splice(this.#indexOf(price), 0, price);
    }
    invariant(!level.has(orderId), `order ${orderId} rests on the ladder once`);
    level.set(orderId, item);
    this.#size += 1;
  }

  /** Takes the order off the ladder; false when it is not resting at that price. */
  remove(price: Price, orderId: string): boolean {
    const level = this.#levels.get(price);
    if (level === undefined || !level.delete(orderId)) return false;
    this.#size -= 1;
    if (level.size > 0) return true;
    this.#levels.delete(price);
    const index = this.#indexOf(price);
    invariant(this.#prices[index] === price, `ladder price ${price} is listed where it sorts`);
    if (index === this.#prices.length - 1) this.#prices.pop();
    else this.#prices.splice(index, 1);
    return true;
  }

  /** Where the price sits in the worst-first list: the first index not worse than it. */
  #indexOf(price: Price): number {
    let low = 0;
    let high = this.#prices.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const at = this.#prices[middle];
      invariant(at !== undefined, "ladder search stays inside the price list");
      const worse = this.#better === "higher" ? at < price : at > price;
      if (worse) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
