// Spawning the oms binary itself for node processes, whether it runs from source
// (`bun src/cli/main.ts`) or compiled (`dist/oms`).
export function selfCommand(args: string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A clean stop that takes longer (a broker or database that is gone) gives way to an exit. */
export const STOP_TIMEOUT_MS = 10_000;

/**
 * Stops, then exits: 0 after a clean stop, 1 if the stop failed or took longer than
 * STOP_TIMEOUT_MS. Nothing acknowledged depends on the clean stop (the log has it); it only
 * saves a snapshot and releases the leases, so a process must never hang on it.
 */
export function stopThenExit(stop: () => Promise<void>): void {
  const timer = setTimeout(() => process.exit(1), STOP_TIMEOUT_MS);
  stop().then(
    () => process.exit(0),
    () => {
      clearTimeout(timer);
      process.exit(1);
    },
  );
}

/**
 * A child started with stdin as a pipe from its parent sees end-of-file when the parent dies,
 * even by SIGKILL; it then stops instead of living on as an orphan holding its port and its
 * data directory.
 */
export function exitWithParent(stop: () => Promise<void>): void {
  process.stdin.on("end", () => stopThenExit(stop));
  process.stdin.on("error", () => stopThenExit(stop));
  process.stdin.resume();
}
