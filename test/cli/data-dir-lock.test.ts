// One owner per data directory (owner.pid): a live owner keeps it (refused at once, or after
// the wait given), a dead one's file is taken over, and release frees it only for its owner.
// Time is the test's: the wait runs on an injected clock and sleep.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockDataDir } from "../../src/cli/data-dir-lock.ts";

let dir = "";
let ownerFile = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "oms-lock-"));
  ownerFile = join(dir, "owner.pid");
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Names no process: Linux pids stop at pid_max, at most 2^22. */
const NO_SUCH_PID = 2 ** 31 - 1;

test("a free directory is taken, and released by its owner", async () => {
  const release = await lockDataDir(dir, { waitMs: 0 });
  expect(readFileSync(ownerFile, "utf8")).toBe(String(process.pid));
  release();
  expect(existsSync(ownerFile)).toBe(false);
});

test("a live owner's directory is refused at once with waitMs 0, naming the directory and the owner", async () => {
  // The test runner's parent lives as long as this test does.
  writeFileSync(ownerFile, String(process.ppid));
  await expect(lockDataDir(dir, { waitMs: 0 })).rejects.toThrow(`data directory ${dir} is in use by process ${process.ppid}`);
  expect(readFileSync(ownerFile, "utf8")).toBe(String(process.ppid));
});

test("a dead owner's file, or one that names no process, is taken over", async () => {
  for (const stale of [String(NO_SUCH_PID), "", "not a pid"]) {
    writeFileSync(ownerFile, stale);
    const release = await lockDataDir(dir, { waitMs: 0 });
    expect(readFileSync(ownerFile, "utf8")).toBe(String(process.pid));
    release();
  }
});

test("a wait for a live owner looks again until the owner lets go, or gives up after waitMs", async () => {
  let nowMs = 0;
  const sleeps: number[] = [];
  writeFileSync(ownerFile, String(process.ppid));
  const clock = { nowMs: () => nowMs, sleep: async (ms: number) => void (sleeps.push(ms), (nowMs += ms)) };
  await expect(lockDataDir(dir, { waitMs: 1_000, ...clock })).rejects.toThrow(`is in use by process ${process.ppid}`);
  expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(1_000);
  // The owner stops (its file goes) during the third look.
  sleeps.length = 0;
  nowMs = 0;
  const letGo = { nowMs: () => nowMs, sleep: async (ms: number) => void (sleeps.push(ms), (nowMs += ms), sleeps.length === 3 && rmSync(ownerFile)) };
  const release = await lockDataDir(dir, { waitMs: 1_000, ...letGo });
  expect(sleeps.length).toBe(3);
  expect(readFileSync(ownerFile, "utf8")).toBe(String(process.pid));
  release();
});

test("release does not remove a file another process has taken since", async () => {
  const release = await lockDataDir(dir, { waitMs: 0 });
  writeFileSync(ownerFile, String(process.ppid));
  release();
  expect(readFileSync(ownerFile, "utf8")).toBe(String(process.ppid));
});
