// The oms command as a user runs it (bun src/cli/main.ts, a process per command): help and
// version print and exit 0, a mistake prints one "oms: …" line and the help to read and exits
// 2 with no stack trace, oms assets lists the symbols with their quotes, and a second oms dev
// on a data directory in use exits at once naming it instead of hanging.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli/command-table.ts";
import { freePort, killDev, startDev, type DevProcess } from "../e2e/dev-process.ts";

const ROOT = join(import.meta.dir, "../..");
const PROCESS_TEST_MS = 60_000;

interface Run {
  code: number;
  out: string;
  err: string;
}

async function oms(...args: string[]): Promise<Run> {
  return omsWith({}, ...args);
}

async function omsWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const proc = Bun.spawn([process.execPath, "src/cli/main.ts", ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, OMS_SERVER: "", ...env } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

describe("without a server", () => {
  test("oms --help, oms help and oms COMMAND --help for every command print help and exit 0", async () => {
    const top = await oms("--help");
    expect(top).toMatchObject({ code: 0, err: "" });
    expect(top.out).toContain("Usage: oms <command> [options]");
    expect((await oms("help")).out).toBe(top.out);
    for (const command of COMMANDS) {
      const words = command.name.split(" ");
      const help = await oms(...words, "--help");
      expect({ command: command.name, code: help.code, err: help.err }).toEqual({ command: command.name, code: 0, err: "" });
      expect(help.out).toStartWith(`Usage: oms ${command.name}`);
    }
    const group = await oms("account", "--help");
    expect(group.out).toContain("account deposit");
  }, PROCESS_TEST_MS);

  test("oms --version prints the package version and the commit", async () => {
    const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT });
    const commit = git.stdout.toString().trim();
    const version = (await Bun.file(join(ROOT, "package.json")).json()).version as string;
    expect(await oms("--version")).toEqual({ code: 0, out: `oms ${version} (commit ${commit})\n`, err: "" });
  });

  test("a bad value is one line naming the option, the help to read, exit code 2, and no stack trace", async () => {
    const run = await oms("order", "submit", "--account", "a", "--symbol", "AAPL", "--side", "buy", "--qty", "abc");
    expect(run).toEqual({ code: 2, out: "", err: "oms: --qty: expected a whole number of shares like 10, got 'abc'\n(see oms order submit --help)\n" });
  });

  test("unknown commands and options, and missing ones, exit 2 with the help to read", async () => {
    expect(await oms("trade")).toEqual({ code: 2, out: "", err: "oms: unknown command 'trade'\n(see oms --help)\n" });
    expect(await oms("--server", "http://127.0.0.1:1", "order", "list", "--acount", "a")).toEqual({
      code: 2,
      out: "",
      err: "oms: order list has no option --acount\n(see oms order list --help)\n",
    });
    expect(await oms("order", "cancel", "--account", "a")).toEqual({ code: 2, out: "", err: "oms: --id is required\n(see oms order cancel --help)\n" });
    expect(await oms("node", "--config", "x.json")).toEqual({ code: 2, out: "", err: "oms: --node-id (or OMS_NODE_ID) is required\n(see oms node --help)\n" });
  });

  test("OMS_SERVER names the server when --server does not, and is checked as --server is", async () => {
    const port = await freePort();
    const fromEnv = await omsWith({ OMS_SERVER: `http://127.0.0.1:${port}` }, "assets");
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.err).toContain(`server http://127.0.0.1:${port}`);
    expect(await omsWith({ OMS_SERVER: "127.0.0.1:8080" }, "assets")).toEqual({
      code: 2,
      out: "",
      err: "oms: OMS_SERVER: expected a URL like http://127.0.0.1:8080, got '127.0.0.1:8080'\n(see oms assets --help)\n",
    });
  });

  test("a server that is not there is exit code 1 with the address tried", async () => {
    const port = await freePort();
    const run = await oms("assets", "--server", `http://127.0.0.1:${port}`);
    expect(run.code).toBe(1);
    expect(run.err).toStartWith("oms: [unavailable] ");
    expect(run.err).toContain(`server http://127.0.0.1:${port}`);
  });
});

test("oms dev whose nodes cannot start exits 1 as soon as one has exited, saying so", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-cli-"));
  try {
    // Nothing listens on port 1; the nodes give up on Postgres at their first attempt.
    const run = await omsWith({ OMS_POSTGRES_CONNECT_RETRY_MS: "0" }, "dev", "--port", "0", "--data-dir", dataDir, "--postgres", "postgres://postgres@127.0.0.1:1/oms");
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^oms: oms node \(pid \d+\) exited with code 1 before serving; its log is above$/m);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, PROCESS_TEST_MS);

describe("against oms dev", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-cli-"));
  let dev: DevProcess;

  beforeAll(async () => {
    dev = await startDev(dataDir, await freePort());
  }, PROCESS_TEST_MS);

  afterAll(async () => {
    if (dev !== undefined) await killDev(dev);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("oms assets lists every symbol with its bid, ask and last; --json gives the server's answer", async () => {
    const table = await oms("--server", dev.url, "assets");
    expect(table.code).toBe(0);
    const [header, ...rows] = table.out.trimEnd().split("\n");
    expect(header?.split(/\s+/)).toEqual(["SYMBOL", "BID", "ASK", "LAST"]);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(["AAPL", "MSFT", "SPY", "GOOGL", "AMZN", "TSLA", "NVDA", "META"]);
    for (const row of rows) expect(row).toMatch(/^[A-Z]+\s+\d+\.\d{2,4}\s+\d+\.\d{2,4}\s+\d+\.\d{2,4}$/);
    const json = await oms("assets", "--json", "--server", dev.url);
    const { assets } = JSON.parse(json.out) as { assets: { symbol: string; tradable: boolean; quote: { bidPrice: string; askPrice: string; lastPrice: string } }[] };
    expect(assets.length).toBe(8);
    for (const { tradable, quote } of assets) {
      expect(tradable).toBe(true);
      // An uncrossed quote, exact decimal strings.
      expect(Number(quote.bidPrice)).toBeLessThan(Number(quote.askPrice));
      expect(quote.lastPrice).toMatch(/^\d+(\.\d{1,4})?$/);
    }
  });

  test("a second oms dev on the same data directory exits at once, naming the directory and its owner", async () => {
    const second = await oms("dev", "--port", String(await freePort()), "--data-dir", dataDir);
    expect(second.code).toBe(1);
    expect(second.err).toBe(
      `oms: data directory ${dataDir} is in use by process ${dev.proc.pid} (another oms dev?): stop it, or give this one another --data-dir\n`,
    );
    // The first is untouched.
    expect((await oms("assets", "--server", dev.url)).code).toBe(0);
  }, PROCESS_TEST_MS);
});
