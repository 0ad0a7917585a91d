import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredRecord } from "../../src/log/event-log.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { CRASH_SHARDS, recordAt } from "./append-until-killed.ts";

/** Acknowledgements to see before the kill: enough for many batches to have committed. */
const ACKNOWLEDGED_BEFORE_KILL_MIN = 3000;
const READ_PAGE_RECORDS_MAX = 1000;

let directory = "";

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "oms-wal-kill9-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** Reads stdout until at least `lines` complete lines arrived, or the stream ends. */
async function readLines(stream: ReadableStream<Uint8Array>, lines: number, onEnough: () => void): Promise<string[]> {
  const decoder = new TextDecoder();
  let text = "";
  let killed = false;
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    if (!killed && text.split("\n").length - 1 >= lines) {
      killed = true;
      onEnough();
    }
  }
  // A line cut short by the kill is not a whole acknowledgement: drop what follows the last newline.
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((line) => line !== "");
}

async function readShard(log: SqliteEventLog, shard: number): Promise<StoredRecord[]> {
  const stored: StoredRecord[] = [];
  for (;;) {
    const page = await log.read(shard, BigInt(stored.length), READ_PAGE_RECORDS_MAX);
    if (page.length === 0) return stored;
    stored.push(...page);
  }
}

test("every append acknowledged before kill -9 is on disk with its content after reopening", async () => {
  const path = join(directory, "wal.sqlite");
  const script = join(import.meta.dir, "append-until-killed.ts");
  const writer = Bun.spawn([process.execPath, script, path], { stdout: "pipe", stderr: "pipe" });
  const lines = await readLines(writer.stdout, ACKNOWLEDGED_BEFORE_KILL_MIN, () => writer.kill("SIGKILL"));
  await writer.exited;
  const stderr = await new Response(writer.stderr).text();
  expect({ signal: writer.signalCode, stderr }).toEqual({ signal: "SIGKILL", stderr: "" });
  expect(lines.length).toBeGreaterThanOrEqual(ACKNOWLEDGED_BEFORE_KILL_MIN);

  const acknowledged = lines.map((line) => {
    const [shard, offset] = line.split(" ");
    return { shard: Number(shard), offset: BigInt(offset ?? "") };
  });
  const log = SqliteEventLog.open(path);
  for (let shard = 0; shard < CRASH_SHARDS; shard += 1) {
    // Reading from 0 in pages also proves there is no gap: read asserts consecutive offsets.
    const stored = await readShard(log, shard);
    expect(await log.endOffset(shard)).toBe(BigInt(stored.length));
    for (const { offset, record } of stored) expect(record).toEqual(recordAt(shard, offset));
    const acknowledgedHere = acknowledged.filter((ack) => ack.shard === shard);
    expect(acknowledgedHere.length).toBeGreaterThan(0);
    for (const ack of acknowledgedHere) expect(ack.offset).toBeLessThan(BigInt(stored.length));
  }
  await log.close();
});
