// Spawning the oms binary itself for node processes, whether it runs from source
// (`bun src/cli/main.ts`) or compiled (`dist/oms`).
export function selfCommand(args: string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/**
 * A child started with stdin as a pipe from its parent sees end-of-file when the parent dies,
 * even by SIGKILL; it then stops cleanly instead of living on as an orphan holding its port
 * and its data directory.
 */
export function exitWithParent(stop: () => Promise<void>): void {
  process.stdin.on("end", () => void stop().finally(() => process.exit(0)));
  process.stdin.on("error", () => void stop().finally(() => process.exit(0)));
  process.stdin.resume();
}
