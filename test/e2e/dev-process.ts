// Starts `oms dev` as a separate process, the way a user does, and stops it.
import type { Subprocess } from "bun";
import { freePort } from "../../src/rpc/free-port.ts";
export { freePort };

export interface DevProcess {
  url: string;
  port: number;
  /** The keys oms dev printed ("ID:SECRET"): its admin key, and the key of its first account. */
  adminKey: string;
  accountKey: string;
  /** The first account, which accountKey acts for. */
  accountId: string;
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
  return { url: `http://127.0.0.1:${port}`, port, proc, output: () => text, ...printedKeys(text) };
}

/** The keys in oms dev's start lines, as a user copies them. */
export function printedKeys(text: string): { adminKey: string; accountKey: string; accountId: string } {
  const admin = /export OMS_ADMIN_KEY=(\S+)/.exec(text);
  const account = /export OMS_API_KEY=(\S+)\s+\(account "([^"]+)"\)/.exec(text);
  if (admin === null || account === null) throw new Error(`oms dev printed no keys:\n${text}`);
  return { adminKey: admin[1] as string, accountKey: account[1] as string, accountId: account[2] as string };
}

/** SIGKILL, then wait until the node processes (which exit when dev dies) have let go of the port. */
export async function killDev(dev: DevProcess): Promise<void> {
  dev.proc.kill(9);
  await dev.proc.exited;
}
