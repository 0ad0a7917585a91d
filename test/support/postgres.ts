// A throwaway Postgres for one test file: initdb into a temporary folder, a free port on
// 127.0.0.1, its socket inside the folder, fsync on (tests of durability need the real thing).
// Several test files may each run their own at once. It fails, never skips, when Postgres
// cannot start: the error carries the server's log. initdb refuses to run as root, so as root
// the server's commands run as the `postgres` user.
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { freePort } from "../../src/rpc/free-port.ts";
export { freePort };

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/oms_test */
  readonly url: string;
  readonly port: number;
  /** Creates another empty database on the server and returns its url. */
  createDatabase(name: string): Promise<string>;
  /** Kills the server as a crash would (pg_ctl -m immediate), keeping its data: it is unreachable until startServer(). */
  stopServer(): Promise<void>;
  /** Starts the server again on the same port with the same data. */
  startServer(): Promise<void>;
  /** Restarts the server (pg_ctl restart -m fast): open connections are cut. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Listen here instead of on a free port chosen now. */
  port?: number;
}

const DATABASE = "oms_test";
/** A port chosen free may be taken by another test file's server before ours binds it. */
const START_ATTEMPTS_MAX = 5;
const PG_CTL_WAIT_S = 30;

interface Instance {
  bin: string;
  root: string;
  data: string;
  logFile: string;
  running: boolean;
}

/** Servers not yet stopped, killed at exit so that a crashed test run leaves none behind. */
const live = new Set<Instance>();
process.on("exit", () => {
  for (const instance of live) {
    Bun.spawnSync(asServerUser([join(instance.bin, "pg_ctl"), "-D", instance.data, "-m", "immediate", "-w", "stop"]));
    rmSync(instance.root, { recursive: true, force: true });
  }
});

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const root = mkdtempSync(join(tmpdir(), "oms-pg-"));
  const instance: Instance = { bin, root, data: join(root, "data"), logFile: join(root, "server.log"), running: false };
  live.add(instance);
  try {
    if (isRoot()) chownSync(root, serverUserId("-u"), serverUserId("-g"));
    await run(bin, ["initdb", "-D", instance.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"]);
    const port = await startOnAFreePort(instance, options.port);
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await createDatabaseAt(adminUrl, DATABASE);
    return serverHandle(instance, port);
  } catch (error) {
    await destroy(instance);
    throw error;
  }
}


function serverHandle(instance: Instance, port: number): PostgresServer {
  const pgCtl = (args: string[]) => run(instance.bin, ["pg_ctl", "-D", instance.data, "-w", "-t", String(PG_CTL_WAIT_S), ...args]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`,
    port,
    createDatabase: async (name) => {
      await createDatabaseAt(`postgres://postgres@127.0.0.1:${port}/postgres`, name);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stopServer: async () => {
      await pgCtl(["-m", "immediate", "stop"]);
      instance.running = false;
    },
    startServer: async () => {
      await startServer(instance);
    },
    restart: async () => {
      await pgCtl(["-m", "fast", "-l", instance.logFile, "restart"]).catch((error: unknown) => {
        throw withServerLog(instance, error);
      });
    },
    stop: () => destroy(instance),
  };
}

async function startOnAFreePort(instance: Instance, fixedPort: number | undefined): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    // Later lines win in postgresql.conf, so a retry's port replaces the last one.
    appendFileSync(
      join(instance.data, "postgresql.conf"),
      [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${instance.root}'`,
        "fsync = on",
        "synchronous_commit = on",
        "full_page_writes = on",
        "max_connections = 50",
        "shared_buffers = 32MB",
        "",
      ].join("\n"),
    );
    try {
      await startServer(instance);
      return port;
    } catch (error) {
      const portTaken = readLog(instance).includes("could not bind");
      if (fixedPort !== undefined || !portTaken || attempt >= START_ATTEMPTS_MAX) throw error;
    }
  }
}

async function startServer(instance: Instance): Promise<void> {
  try {
    await run(instance.bin, ["pg_ctl", "-D", instance.data, "-l", instance.logFile, "-w", "-t", String(PG_CTL_WAIT_S), "start"]);
    instance.running = true;
  } catch (error) {
    throw withServerLog(instance, error);
  }
}

async function createDatabaseAt(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`createDatabase: ${name} is not a plain identifier`);
  const sql = postgres(adminUrl, {
    max: 1,
    connect_timeout: 10,
    idle_timeout: 1,
    max_lifetime: null,
    fetch_types: false,
    prepare: false,
    onnotice: () => undefined,
  });
  try {
    await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function destroy(instance: Instance): Promise<void> {
  if (!live.has(instance)) return;
  live.delete(instance);
  if (existsSync(join(instance.data, "postmaster.pid"))) {
    await run(instance.bin, ["pg_ctl", "-D", instance.data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
  }
  rmSync(instance.root, { recursive: true, force: true });
}

/** The newest installed Postgres (Debian puts each major under /usr/lib/postgresql/N/bin). */
function postgresBinDir(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base).filter((name) => /^\d+$/.test(name) && existsSync(join(base, name, "bin", "initdb")))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error(`startPostgres: no Postgres under ${base}/N/bin (install the postgresql package); tests that need it fail without it`);
  }
  return join(base, newest, "bin");
}

async function run(bin: string, [command, ...args]: string[]): Promise<string> {
  const argv = asServerUser([join(bin, command ?? ""), ...args]);
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, LC_ALL: "C" } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) throw new Error(`${command} exited with ${exitCode}:\n${stdout}${stderr}`);
  return stdout;
}

function asServerUser(argv: string[]): string[] {
  return isRoot() ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function serverUserId(flag: "-u" | "-g"): number {
  const result = Bun.spawnSync(["id", flag, "postgres"]);
  const id = Number(result.stdout.toString().trim());
  if (result.exitCode !== 0 || !Number.isInteger(id)) {
    throw new Error("startPostgres: running as root needs a `postgres` user to run the server as (initdb refuses root)");
  }
  return id;
}

function readLog(instance: Instance): string {
  return existsSync(instance.logFile) ? readFileSync(instance.logFile, "utf8") : "(no server log)";
}

function withServerLog(instance: Instance, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${message}\n--- server log ${instance.logFile} ---\n${readLog(instance)}`);
}

export interface RecordedLine {
  level: "info" | "warn" | "error";
  msg: string;
  fields: Readonly<Record<string, unknown>> | undefined;
}

/** A logger that keeps what it is told, for tests that assert on log lines. */
export function recordingLogger(): {
  lines: RecordedLine[];
  logger: { info: LogMethod; warn: LogMethod; error: LogMethod };
} {
  const lines: RecordedLine[] = [];
  const method = (level: RecordedLine["level"]): LogMethod => (msg, fields) => void lines.push({ level, msg, fields });
  return { lines, logger: { info: method("info"), warn: method("warn"), error: method("error") } };
}

type LogMethod = (msg: string, fields?: Readonly<Record<string, unknown>>) => void;
