// The write-ahead log of the simulated world: per shard, the durable records in order, and the
// appends on their way to durability. A record becomes durable at an event of its own, in
// append order per shard, and its writer hears of it one network hop later; a writer that
// crashes in between loses a suffix of what it had in flight (the disk never got it), keeps
// the rest, and never hears of either. Faults: append errors, slow appends, the log down.
import type { EventLog, LogRecord, RecordHeader, StoredRecord } from "../log/event-log.ts";
import { WORLD, type EventLoop, type Owner } from "./event-loop.ts";

/** Bugs the harness plants in its own log to prove that the simulation finds them. */
export interface LogBugs {
  /** A lying fsync: a writer's last durable record vanishes when the writer crashes. */
  dropLastOnCrash: boolean;
  /** The writer is told the record is durable before it is. */
  ackBeforeDurable: boolean;
}

export const NO_LOG_BUGS: LogBugs = { dropLastOnCrash: false, ackBeforeDurable: false };

interface InFlight {
  owner: Owner;
  stored: Omit<StoredRecord, "offset">;
  lost: boolean;
}

interface ShardLog {
  durable: StoredRecord[];
  inFlight: InFlight[];
  lastDurableAtMs: number;
}

export class LogStorage {
  private readonly shards = new Map<number, ShardLog>();
  /** Writers whose append failed: the log takes nothing more from them. */
  private readonly poisoned = new Set<Owner>();
  /** Order ids whose order_accepted or order_replace_requested is durable: what the venue may hear of. */
  readonly durableOrderIds = new Set<string>();
  failNextAppends = 0;
  /** Appends that land twice, the copy a little later (a send retried after a lost ack, as Kafka's at-least-once may). */
  duplicateNextAppends = 0;
  slowUntilMs = 0;
  slowMs = 0;
  downUntilMs = 0;
  appendsFailed = 0;

  constructor(
    private readonly loop: EventLoop,
    private readonly random: () => number,
    private readonly bugs: LogBugs,
  ) {}

  shard(shard: number): ShardLog {
    let log = this.shards.get(shard);
    if (log === undefined) {
      log = { durable: [], inFlight: [], lastDurableAtMs: 0 };
      this.shards.set(shard, log);
    }
    return log;
  }

  view(owner: Owner): EventLog {
    return {
      append: (header, record) => this.append(owner, header, record),
      read: (shard, fromOffset, maxRecords) => this.reply(owner, () => this.shard(shard).durable.slice(Number(fromOffset), Number(fromOffset) + maxRecords)),
      isWritable: () => this.loop.nowMs >= this.downUntilMs,
      endOffset: (shard) => this.reply(owner, () => {
        const log = this.shard(shard);
        return BigInt(log.durable.length + log.inFlight.filter((entry) => entry.owner === owner && !entry.lost).length);
      }),
      close: () => Promise.resolve(),
    };
  }

  /** The log as a checker reads it: every durable record, at once. */
  direct(): EventLog {
    return {
      append: () => Promise.reject(new Error("the checker writes nothing")),
      read: (shard, fromOffset, maxRecords) => Promise.resolve(this.shard(shard).durable.slice(Number(fromOffset), Number(fromOffset) + maxRecords)),
      isWritable: () => false,
      endOffset: (shard) => Promise.resolve(BigInt(this.shard(shard).durable.length)),
      close: () => Promise.resolve(),
    };
  }

  /** The owner crashed: a random suffix of each shard's in-flight appends of its never lands. */
  crash(owner: Owner): void {
    for (const log of this.shards.values()) {
      const mine = log.inFlight.filter((entry) => entry.owner === owner && !entry.lost);
      const kept = Math.floor(this.random() * (mine.length + 1));
      for (const entry of mine.slice(kept)) entry.lost = true;
      if (this.bugs.dropLastOnCrash) {
        const last = log.durable.at(-1);
        if (last !== undefined && ownerOfRecord.get(last) === owner) log.durable.pop();
      }
    }
  }

  private append(owner: Owner, header: RecordHeader, record: LogRecord): Promise<bigint> {
    const answer = Promise.withResolvers<bigint>();
    if (this.poisoned.has(owner)) {
      this.loop.after(this.latencyMs(), owner, () => answer.reject(new Error("simulated log: an earlier append failed; taking no more (injected)")));
      return answer.promise;
    }
    // As both real logs do, a failed write fails every later one of the same writer: a log
    // never holds a record whose predecessor from the same writer it refused. Whether the
    // failed record itself landed is unknown to the writer (a timeout, say): either may be.
    const failing = this.failNextAppends > 0;
    if (failing) {
      this.failNextAppends -= 1;
      this.appendsFailed += 1;
      this.poisoned.add(owner);
      this.loop.after(this.latencyMs(), owner, () => answer.reject(new Error("simulated log: append failed (injected)")));
      if (this.random() < 0.5) return answer.promise;
    }
    const log = this.shard(header.shard);
    const duplicated = this.duplicateNextAppends > 0;
    if (duplicated) this.duplicateNextAppends -= 1;
    const entry: InFlight = { owner, stored: { header, record }, lost: false };
    log.inFlight.push(entry);
    const durableAtMs = Math.max(log.lastDurableAtMs, this.loop.nowMs + this.latencyMs());
    log.lastDurableAtMs = durableAtMs;
    if (this.bugs.ackBeforeDurable && !failing) {
      const predicted = BigInt(log.durable.length + log.inFlight.length - 1);
      this.loop.after(1, owner, () => answer.resolve(predicted));
    }
    this.loop.at(durableAtMs, WORLD, () => {
      log.inFlight.splice(log.inFlight.indexOf(entry), 1);
      if (entry.lost) return;
      const stored: StoredRecord = { offset: BigInt(log.durable.length), ...entry.stored };
      log.durable.push(stored);
      ownerOfRecord.set(stored, owner);
      for (const event of record.events) {
        if (event.kind === "order_accepted" || event.kind === "order_replace_requested") this.durableOrderIds.add(event.terms.id);
      }
      if (!this.bugs.ackBeforeDurable && !failing) this.loop.after(NETWORK_HOP_MS, owner, () => answer.resolve(stored.offset));
      if (duplicated) {
        this.loop.after(this.latencyMs(), WORLD, () => {
          const copy: StoredRecord = { ...stored, offset: BigInt(log.durable.length) };
          log.durable.push(copy);
          ownerOfRecord.set(copy, owner);
        });
      }
    });
    return answer.promise;
  }

  private reply<T>(owner: Owner, value: () => T): Promise<T> {
    return new Promise((resolve) => void this.loop.after(NETWORK_HOP_MS, owner, () => resolve(value())));
  }

  private latencyMs(): number {
    const base = 1 + Math.floor(this.random() * 4);
    return this.loop.nowMs < this.slowUntilMs ? base + this.slowMs : base;
  }
}

/** One network hop inside the simulated cluster. */
export const NETWORK_HOP_MS = 1;

const ownerOfRecord = new WeakMap<StoredRecord, Owner>();
