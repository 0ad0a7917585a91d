// One process per data directory: two writers on one log would interleave offsets, and two
// oms dev on one directory would each start nodes that wait on the other's. The owner's pid
// is in owner.pid; a file whose process is gone (killed, even by SIGKILL) is taken over.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "./child-process.ts";

/** How long a node waits for the previous owner of its directory, still stopping, by default. */
export const WAIT_FOR_PREVIOUS_MS = 15_000;
const LOOK_AGAIN_MS = 100;

export interface DataDirLockOptions {
  /** 0 refuses at once if another live process holds the directory. */
  waitMs: number;
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Takes the directory, waiting up to waitMs for a live owner to stop; returns the release. */
export async function lockDataDir(dir: string, options: DataDirLockOptions = { waitMs: WAIT_FOR_PREVIOUS_MS }): Promise<() => void> {
  const file = join(dir, "owner.pid");
  const nowMs = options.nowMs ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => Bun.sleep(ms));
  const deadline = nowMs() + options.waitMs;
  for (;;) {
    if (createOwnerFile(file)) break;
    const owner = ownerOf(file);
    if (owner === null || owner === process.pid || !processAlive(owner)) {
      writeFileSync(file, String(process.pid));
      break;
    }
    if (nowMs() >= deadline) throw new Error(`data directory ${dir} is in use by process ${owner}`);
    await sleep(LOOK_AGAIN_MS);
  }
  return () => {
    if (ownerOf(file) === process.pid) rmSync(file, { force: true });
  };
}

/** Creates the file only if there is none, so that of two starting at once one wins. */
function createOwnerFile(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EEXIST") return false;
    throw error;
  }
}

function ownerOf(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
