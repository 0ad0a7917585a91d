// A macro (imported `with { type: "macro" }`): the venue thread's code, bundled from
// venue-thread-main.ts and everything it imports, as one string of JavaScript. It runs when
// thread-venue.ts is transpiled: by `bun build --compile`, so dist/oms carries the string and
// needs no file beside it, and by `bun src/...` and `bun test` when they load thread-venue.ts.
// A string run from a Blob URL is how oms starts its threads (see log/worker-calls.ts): a worker
// file would sit at a different path in the compiled binary. Bundling, not Function#toString as
// the SQLite threads do, because the venue is classes and modules, not one self-contained
// function. Bun.build cannot run inside a macro (the bundler waits for the macro), so the CLI.
import { fileURLToPath } from "node:url";

export function venueThreadSource(): string {
  const entry = fileURLToPath(new URL("./venue-thread-main.ts", import.meta.url));
  const built = Bun.spawnSync([process.execPath, "build", entry, "--target=bun", "--format=esm"], { stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`bundling the venue thread (${entry}) failed: ${built.stderr.toString()}`);
  return built.stdout.toString();
}
