// The one binary: `bun run build`'s dist/oms runs oms dev (spawning its own node processes)
// and the client commands, with no Bun or source tree needed beside it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startDev, type DevProcess } from "../e2e/dev-process.ts";

const root = `${import.meta.dir}/../..`;
const workDir = mkdtempSync(join(tmpdir(), "oms-binary-"));
const binary = join(workDir, "oms");
let dev: DevProcess;

beforeAll(async () => {
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--outfile", binary, "src/cli/main.ts"], { cwd: root, stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`bun build --compile failed: ${build.stderr.toString()}`);
  dev = await startDev(join(workDir, "data"), await freePort(), [binary]);
});

afterAll(async () => {
  dev?.proc.kill(9);
  await dev?.proc.exited;
});

/** With the admin key oms dev printed: these commands open and fund an account of their own. */
function oms(...args: string[]): { code: number; out: string; err: string } {
  const run = Bun.spawnSync([binary, ...args, "--server", dev.url, "--api-key", dev.adminKey], { cwd: workDir, stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, out: run.stdout.toString(), err: run.stderr.toString() };
}

test("dist/oms runs oms dev and its client commands create, fund, buy and show the position", async () => {
  expect(oms("admin", "create-account", "--id", "bin-1").code).toBe(0);
  expect(JSON.parse(oms("admin", "deposit", "--account", "bin-1", "--amount", "1000").out).account.cash).toBe("1000");
  const submitted = JSON.parse(oms("order", "submit", "--account", "bin-1", "--symbol", "MSFT", "--side", "buy", "--qty", "2").out);
  expect(submitted.order.status).toBe("ORDER_STATUS_NEW");
  let status = "";
  for (let i = 0; i < 100 && status !== "ORDER_STATUS_FILLED"; i++) {
    status = JSON.parse(oms("order", "get", "--account", "bin-1", "--id", submitted.order.id).out).order.status;
    if (status !== "ORDER_STATUS_FILLED") await Bun.sleep(50);
  }
  expect(status).toBe("ORDER_STATUS_FILLED");
  const positions = JSON.parse(oms("account", "positions", "--account", "bin-1").out).positions;
  expect(positions.map((p: { symbol: string; qty: string }) => [p.symbol, p.qty])).toEqual([["MSFT", "2"]]);
});

test("a refused command exits 1 with the code and the field; a mistake in the command line exits 2", () => {
  const refused = oms("order", "submit", "--account", "bin-1", "--symbol", "NOPE", "--side", "buy", "--qty", "1");
  expect(refused.code).toBe(1);
  expect(refused.err).toStartWith("oms: [invalid_argument] symbol");
  const bad = oms("order", "submit", "--account", "bin-1", "--symbol", "MSFT", "--side", "buy", "--qty", "abc");
  expect(bad).toEqual({ code: 2, out: "", err: "oms: --qty: expected a whole number of shares like 10, got 'abc'\n(see oms order submit --help)\n" });
  const usage = oms("order", "explode");
  expect(usage.code).toBe(2);
  expect(usage.err).toContain("unknown command 'order explode'");
});
