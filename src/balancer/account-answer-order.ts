// Answers of one account written in the order its requests came, whatever order they are known
// in (its node answers a batch at once, but the balancer refuses some orders itself at once, and
// a later batch may come back first): the SubmitOrders contract. Each account with answers
// outstanding has a chain of them; an answer is released when it is known and every earlier one
// of its account has been released. Accounts do not wait for each other.

/** One request's place in its account's chain. */
export interface InAccountOrder<T> {
  readonly accountId: string;
  /** Its answer is known. */
  readonly known: boolean;
  /** An earlier answer of the account is not released yet. */
  waiting: boolean;
  nextOfAccount: T | null;
}

export class AccountAnswerOrder<T extends InAccountOrder<T>> {
  /** Per account with answers outstanding, its latest request. */
  private readonly tails = new Map<string, T>();

  /** A request read: its answer is released after the account's earlier ones. */
  enter(item: T): void {
    const tail = this.tails.get(item.accountId);
    if (tail !== undefined) {
      tail.nextOfAccount = item;
      item.waiting = true;
    }
    this.tails.set(item.accountId, item);
  }

  /** `item`'s answer is now known: appends to `ready` the answers this releases, in order. */
  release(item: T, ready: T[]): void {
    if (item.waiting) return;
    let next: T | null = item;
    while (next !== null && next.known) {
      ready.push(next);
      const after: T | null = next.nextOfAccount;
      if (after === null) this.tails.delete(next.accountId);
      else after.waiting = false;
      next = after;
    }
  }

  clear(): void {
    this.tails.clear();
  }
}
