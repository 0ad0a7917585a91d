// One process per node data directory: two writers on one log would interleave offsets.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "./child-process.ts";

const WAIT_FOR_PREVIOUS_MS = 15_000;

/** Waits for an earlier owner that is still stopping, then takes the directory. */
export async function lockDataDir(dir: string): Promise<() => void> {
  const file = join(dir, "owner.pid");
  const deadline = Date.now() + WAIT_FOR_PREVIOUS_MS;
  for (;;) {
    const owner = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : NaN;
    if (!Number.isInteger(owner) || owner === process.pid || !processAlive(owner)) break;
    if (Date.now() > deadline) throw new Error(`data dir ${dir} is in use by process ${owner}`);
    await Bun.sleep(100);
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}
