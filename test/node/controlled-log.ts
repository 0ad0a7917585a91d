// The SQLite log under a test's control: while `held` is set, appends are confirmed only when it
// resolves (the record is written, its confirmation late); while `failing`, appends reject.
import type { EventLog, LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import type { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";

export class ControlledLog implements EventLog {
  held: Promise<void> | null = null;
  failing = false;
  constructor(private readonly inner: SqliteEventLog) {}
  async append(header: RecordHeader, record: LogRecord): Promise<bigint> {
    if (this.failing) throw new Error("disk full");
    const gate = this.held;
    const offset = await this.inner.append(header, record);
    if (gate !== null) await gate;
    return offset;
  }
  read(shard: number, fromOffset: bigint, maxRecords: number) {
    return this.inner.read(shard, fromOffset, maxRecords);
  }
  isWritable() {
    return this.inner.isWritable();
  }
  endOffset(shard: number) {
    return this.inner.endOffset(shard);
  }
  close() {
    return this.inner.close();
  }
}
