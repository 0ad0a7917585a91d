// The processes a benchmark level starts (`oms node`, `oms balancer`, load generators, the
// servers it compares with), each stopped whatever happens, its last output kept for the error
// that explains its death, and its CPU read from /proc so a report can say which one saturated.
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitUntilServing } from "../../src/rpc/wait-until-serving.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
const SERVING_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;
/** Keeps the last bytes a process wrote, for the error that explains its death. */
const OUTPUT_KEPT_CHARS = 16_384;
/**
 * Set, each process runs under `bun --cpu-prof` and writes its profile here when it stops: to
 * see where the time goes at the rates a level was asked to run.
 */
const CPU_PROFILE_DIR = process.env["BENCH_E2E_CPU_PROF_DIR"];

export class BenchProcess {
  private text = "";

  constructor(
    readonly role: string,
    readonly proc: Subprocess<"pipe", "pipe", "pipe">,
    /** A load generator: it exits when its stdin closes (writing its CPU profile, if any). */
    readonly isLoader: boolean,
  ) {
    void this.pump(proc.stderr);
  }

  output(): string {
    return this.text;
  }

  exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  keep(chunk: string): void {
    this.text = (this.text + chunk).slice(-OUTPUT_KEPT_CHARS);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) this.keep(decoder.decode(chunk, { stream: true }));
  }
}

/** Every process a level starts, by role, so that every one is stopped whatever happens. */
export class BenchProcesses {
  private readonly started = new Map<string, BenchProcess>();
  /** If the benchmark process itself exits first, its children must not live on. */
  private readonly onExit = () => {
    for (const started of this.started.values()) started.proc.kill("SIGKILL");
  };
  private readonly ticksPerSecond = clockTicksPerSecond();

  /**
   * `bun args…` from the repository root, without the caller's OMS_* environment. A process
   * whose stdout is a protocol (a load generator) keeps it; the others' goes to its output.
   */
  start(role: string, args: string[], options: { stdoutIsProtocol?: boolean; env?: Record<string, string> } = {}): BenchProcess {
    if (this.started.has(role)) throw new Error(`bench: a ${role} is already running`);
    if (this.started.size === 0) process.on("exit", this.onExit);
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_"))), ...options.env };
    const profile = CPU_PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${CPU_PROFILE_DIR}`, `--cpu-prof-name=${role}.cpuprofile`];
    const proc = Bun.spawn([process.execPath, ...profile, ...args], { cwd: REPO_ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe", env });
    const started = new BenchProcess(role, proc, options.stdoutIsProtocol === true);
    this.started.set(role, started);
    if (!started.isLoader) void started.proc.stdout.pipeTo(new WritableStream({ write: (chunk) => started.keep(new TextDecoder().decode(chunk)) }));
    return started;
  }

  pid(role: string): number {
    const started = this.started.get(role);
    if (started === undefined) throw new Error(`bench: no ${role} was started`);
    return started.proc.pid;
  }

  /** CPU seconds (user + system) each role's process, or its main thread, has used so far, from /proc. */
  cpuSeconds(roles: readonly string[], scope: "process" | "main thread"): Record<string, number> {
    const seconds: Record<string, number> = {};
    for (const role of roles) {
      const started = this.started.get(role);
      if (started === undefined) throw new Error(`bench: no ${role} was started`);
      const pid = started.proc.pid;
      // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(scope === "process" ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      seconds[role] = (Number(fields[11]) + Number(fields[12])) / this.ticksPerSecond;
    }
    return seconds;
  }

  /** Closes stdin (a load generator exits then), SIGTERM to the rest, SIGKILL after STOP_GRACE_MS. */
  async stopAll(): Promise<void> {
    const running = [...this.started.values()];
    for (const started of running) {
      started.proc.stdin.end();
      if (!started.isLoader) started.proc.kill("SIGTERM");
    }
    const gone = Promise.all(running.map((started) => started.proc.exited));
    const timer = setTimeout(() => {
      for (const started of running) if (!started.exited()) started.proc.kill("SIGKILL");
    }, STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
    this.started.clear();
    process.off("exit", this.onExit);
  }
}

/** Until Health says SERVING (for a node: after recovery), or the process dies, or time runs out. */
export async function waitServing(url: string, started: BenchProcess): Promise<void> {
  const exitedBecause = () => (started.exited() ? String(started.proc.exitCode ?? started.proc.signalCode) : null);
  try {
    await waitUntilServing(url, { timeoutMs: SERVING_TIMEOUT_MS, exitedBecause });
  } catch (error) {
    throw new Error(`${started.role} ${error instanceof Error ? error.message : String(error)}:\n${started.output()}`, { cause: error });
  }
}

function clockTicksPerSecond(): number {
  const getconf = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const ticks = Number(getconf.stdout.toString().trim());
  // 100 is what Linux uses on every common architecture.
  return getconf.success && Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100;
}
