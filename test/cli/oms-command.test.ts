// The oms command as a user runs it (bun src/cli/main.ts, a process per command): help and
// version print and exit 0, a mistake prints one "oms: …" line and the help to read and exits
// 2 with no stack trace, oms assets lists the symbols with their quotes, and a second oms dev
// on a data directory in use exits at once naming it instead of hanging.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli/command-table.ts";
import { KeyRing } from "../../src/auth/key-ring.ts";
import { SqliteKeyStore } from "../../src/auth/sqlite-key-store.ts";
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
  const proc = Bun.spawn([process.execPath, "src/cli/main.ts", ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, OMS_SERVER: "", OMS_API_KEY: "", ...env } });
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
    const group = await oms("admin", "--help");
    expect(group.out).toContain("admin deposit");
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

test("oms bootstrap-key issues a key straight into the configured store, printed once as ID:SECRET", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-cli-keys-"));
  try {
    const configFile = join(dataDir, "cluster.json");
    writeFileSync(configFile, JSON.stringify({ dataDir }));
    const run = await oms("bootstrap-key", "--config", configFile, "--admin", "--label", "ops");
    expect(run.code).toBe(0);
    const [keyId, secret] = run.out.trim().split(":") as [string, string];
    const store = SqliteKeyStore.open(join(dataDir, "api-keys.sqlite"));
    const ring = new KeyRing(store);
    await ring.refresh();
    expect(await ring.authenticate({ keyId, secret })).toEqual({ keyId, scope: { kind: "admin" } });
    expect((await store.list()).map((key) => key.label)).toEqual(["ops"]);
    await store.close();
    expect(await oms("bootstrap-key", "--config", configFile)).toMatchObject({ code: 2, err: "oms: give one of --admin and --account\n(see oms bootstrap-key --help)\n" });
    expect((await oms("bootstrap-key", "--config", configFile, "--account", "no spaces")).code).toBe(2);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
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

  /** oms with a key in OMS_API_KEY, as a user who copied the line oms dev printed. */
  const omsAs = (apiKey: string, ...args: string[]) => omsWith({ OMS_API_KEY: apiKey, OMS_SERVER: dev.url }, ...args);

  test("oms admin opens and funds an account and issues its key; that key trades without --account; revoked, it is refused", async () => {
    expect((await omsAs(dev.adminKey, "admin", "create-account", "--id", "cli-carol")).code).toBe(0);
    expect(JSON.parse((await omsAs(dev.adminKey, "admin", "deposit", "--account", "cli-carol", "--amount", "2500")).out).account.cash).toBe("2500");
    const issued = await omsAs(dev.adminKey, "admin", "issue-key", "--account", "cli-carol", "--label", "carol's laptop");
    const { bearer, key } = JSON.parse(issued.out) as { bearer: string; key: { keyId: string; accountId: string } };
    expect(key.accountId).toBe("cli-carol");
    const submitted = await oms("--server", dev.url, "--api-key", bearer, "order", "submit", "--symbol", "MSFT", "--side", "buy", "--qty", "1", "--type", "limit", "--limit", "1.00");
    expect([submitted.code, JSON.parse(submitted.out).order.accountId]).toEqual([0, "cli-carol"]);
    const listed = JSON.parse((await omsAs(dev.adminKey, "admin", "list-keys", "--account", "cli-carol")).out) as { keys: { keyId: string }[] };
    expect(listed.keys.map((k) => k.keyId)).toEqual([key.keyId]);
    expect(issued.out).toContain(bearer);
    expect(JSON.stringify(listed)).not.toContain(bearer.split(":")[1]);
    expect((await omsAs(dev.adminKey, "admin", "revoke-key", "--id", key.keyId)).code).toBe(0);
    const revoked = await omsAs(bearer, "order", "list");
    expect([revoked.code, revoked.err.split(" ", 2).join(" ")]).toEqual([1, "oms: [unauthenticated]"]);
  }, PROCESS_TEST_MS);

  test("oms admin withdraws up to the free cash and blocks and unblocks an account's trading", async () => {
    expect((await omsAs(dev.adminKey, "admin", "create-account", "--id", "cli-dave")).code).toBe(0);
    expect((await omsAs(dev.adminKey, "admin", "deposit", "--account", "cli-dave", "--amount", "100")).code).toBe(0);
    const withdrawn = await omsAs(dev.adminKey, "admin", "withdraw", "--account", "cli-dave", "--amount", "40.50");
    expect([withdrawn.code, JSON.parse(withdrawn.out).account.cash]).toEqual([0, "59.5"]);
    const tooMuch = await omsAs(dev.adminKey, "admin", "withdraw", "--account", "cli-dave", "--amount", "60");
    expect([tooMuch.code, tooMuch.err.split(" ", 3).join(" ")]).toEqual([1, "oms: [failed_precondition] amount:"]);
    const blocked = await omsAs(dev.adminKey, "admin", "set-trading-state", "--account", "cli-dave", "--state", "trading_blocked");
    expect([blocked.code, JSON.parse(blocked.out).account.tradingState]).toEqual([0, "TRADING_STATE_TRADING_BLOCKED"]);
    const active = await omsAs(dev.adminKey, "admin", "set-trading-state", "--account", "cli-dave", "--state", "active");
    expect(JSON.parse(active.out).account.tradingState).toBe("TRADING_STATE_ACTIVE");
    expect(await omsAs(dev.adminKey, "admin", "set-trading-state", "--account", "cli-dave", "--state", "frozen")).toMatchObject({ code: 2 });
    expect(await omsAs(dev.adminKey, "admin", "set-trading-state", "--account", "cli-dave")).toMatchObject({ code: 2 });
  }, PROCESS_TEST_MS);

  test("an account key cannot use oms admin; no key at all is refused with where to find one", async () => {
    const denied = await omsAs(dev.accountKey, "admin", "create-account", "--id", "cli-mallory");
    expect([denied.code, denied.err]).toEqual([1, "oms: [permission_denied] oms.v1.AccountService/CreateAccount: needs an admin API key\n"]);
    const keyless = await omsWith({ OMS_SERVER: dev.url }, "account", "get");
    expect(keyless.code).toBe(1);
    expect(keyless.err).toContain("[unauthenticated]");
    expect(keyless.err).toContain("--api-key ID:SECRET or OMS_API_KEY");
    expect(await omsWith({ OMS_SERVER: dev.url, OMS_API_KEY: "no-colon" }, "account", "get")).toMatchObject({ code: 2 });
  }, PROCESS_TEST_MS);

  test("oms assets lists every symbol with its bid, ask and last; --json gives the server's answer", async () => {
    const table = await oms("--server", dev.url, "--api-key", dev.accountKey, "assets");
    expect(table.code).toBe(0);
    const [header, ...rows] = table.out.trimEnd().split("\n");
    expect(header?.split(/\s+/)).toEqual(["SYMBOL", "BID", "ASK", "LAST"]);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(["AAPL", "MSFT", "SPY", "GOOGL", "AMZN", "TSLA", "NVDA", "META"]);
    for (const row of rows) expect(row).toMatch(/^[A-Z]+\s+\d+\.\d{2,4}\s+\d+\.\d{2,4}\s+\d+\.\d{2,4}$/);
    const json = await omsAs(dev.accountKey, "assets", "--json");
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
    expect((await omsAs(dev.accountKey, "assets")).code).toBe(0);
  }, PROCESS_TEST_MS);
});
