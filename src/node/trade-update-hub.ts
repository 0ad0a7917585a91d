// Fan-out of trade updates to the streams of one account. Each subscriber has a bounded
// queue: a client that reads too slowly is cut off rather than allowed to grow the node's
// memory without limit.
import type { TradeUpdate } from "../gen/oms/v1/trading_pb.ts";

export const SUBSCRIBER_QUEUE_MAX = 10_000;

export interface Subscription {
  next(): Promise<TradeUpdate | "overflow" | "closed">;
  close(): void;
}

interface Subscriber {
  queue: TradeUpdate[];
  waiting: ((value: TradeUpdate | "overflow" | "closed") => void) | null;
  state: "open" | "overflow" | "closed";
}

export class TradeUpdateHub {
  private readonly subscribers = new Map<string, Set<Subscriber>>();

  subscribe(accountId: string): Subscription {
    const subscriber: Subscriber = { queue: [], waiting: null, state: "open" };
    let set = this.subscribers.get(accountId);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(accountId, set);
    }
    set.add(subscriber);
    const remove = () => {
      set.delete(subscriber);
      if (set.size === 0) this.subscribers.delete(accountId);
    };
    return {
      next: () => {
        const update = subscriber.queue.shift();
        if (update !== undefined) return Promise.resolve(update);
        if (subscriber.state !== "open") return Promise.resolve(subscriber.state);
        return new Promise((resolve) => (subscriber.waiting = resolve));
      },
      close: () => {
        remove();
        subscriber.state = "closed";
        subscriber.waiting?.("closed");
        subscriber.waiting = null;
      },
    };
  }

  /** Whether anyone listens to this account: updates for no one are not even built. */
  hasSubscribers(accountId: string): boolean {
    return this.subscribers.has(accountId);
  }

  publish(accountId: string, update: TradeUpdate): void {
    const set = this.subscribers.get(accountId);
    if (set === undefined) return;
    for (const subscriber of set) {
      if (subscriber.waiting !== null) {
        const resolve = subscriber.waiting;
        subscriber.waiting = null;
        resolve(update);
      } else if (subscriber.queue.length >= SUBSCRIBER_QUEUE_MAX) {
        subscriber.state = "overflow";
        subscriber.queue.length = 0;
        set.delete(subscriber);
      } else {
        subscriber.queue.push(update);
      }
    }
  }

  closeAll(): void {
    for (const set of this.subscribers.values()) {
      for (const subscriber of set) {
        subscriber.state = "closed";
        subscriber.waiting?.("closed");
        subscriber.waiting = null;
      }
    }
    this.subscribers.clear();
  }
}
