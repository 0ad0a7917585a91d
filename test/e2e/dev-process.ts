// Starts `oms dev` as a separate process, the way a user does, and stops it.
import type { Subprocess } from "bun";
import { freePort } from "../../src/rpc/free-port.ts";
export { freePort };

export interface DevProcess {
  url: string;
  port: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
}


const READY_TIMEOUT_MS = 30_000;

export async function startDev(
  dataDir: string,
  port: number,
  command: string[] = [process.execPath, "src/cli/main.ts"],
  extraArgs: string[] = [],
): Promise<DevProcess> {
  const proc = Bun.spawn([...command, "dev", "--port", String(port), "--data-dir", dataDir, ...extraArgs], {
    cwd: `${import.meta.dir}/../..`,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, OMS_LOG_LEVEL: "warn" },
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!text.includes("oms dev: ready")) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill(9);
      throw new Error(`oms dev did not become ready:\n${text}`);
    }
    await Bun.sleep(25);
  }
  return { url: `http://127.0.0.1:${port}`, port, proc, output: () => text };
}

/** SIGKILL, then wait until the node processes (which exit when dev dies) have let go of the port. */
export async function killDev(dev: DevProcess): Promise<void> {
  dev.proc.kill(9);
  await dev.proc.exited;
}
