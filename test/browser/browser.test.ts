// The API from a real browser: headless Chromium opens a page served on another origin (a
// second port) that calls `oms dev` with @connectrpc/connect-web, over Connect JSON and over
// gRPC-web: create an account, deposit, buy, see the fill on StreamTradeUpdates, and a
// NotFound that reads in the browser exactly as it does in a server-side client. The browser
// only lets the page see these answers if the balancer's CORS headers allow it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { OrderService } from "../../src/gen/oms/v1/order_service_pb.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { freePort, killDev, startDev, type DevProcess } from "../e2e/dev-process.ts";
import { launchChromium, type BrowserPage, type Chromium } from "./chromium.ts";
import type { PageProtocol, ScenarioResult } from "./page/scenario.ts";

/** Starting oms dev, bundling the page and launching Chromium, on a loaded CI machine. */
const SETUP_TIMEOUT_MS = 90_000;
/** One scenario: a handful of calls and up to a few buys while waiting for a fill. */
const SCENARIO_TIMEOUT_MS = 60_000;
const MISSING_ORDER_ID = "no-such-order";

let dev: DevProcess;
let pageServer: Server<undefined>;
let chromium: Chromium;
let page: BrowserPage;

async function bundledScenario(): Promise<string> {
  const build = await Bun.build({ entrypoints: [join(import.meta.dir, "page/scenario.ts")], target: "browser", format: "esm" });
  const output = build.outputs[0];
  if (!build.success || output === undefined) throw new Error(`bundling the page failed: ${build.logs.join("\n")}`);
  return output.text();
}

beforeAll(async () => {
  dev = await startDev(mkdtempSync(join(tmpdir(), "oms-browser-")), await freePort());
  const script = await bundledScenario();
  // Same host, another port: another origin, which is what makes every call cross-origin.
  pageServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/scenario.js") return new Response(script, { headers: { "content-type": "text/javascript" } });
      if (path === "/") return new Response('<!doctype html><script type="module" src="/scenario.js"></script>', { headers: { "content-type": "text/html" } });
      // The browser asks for /favicon.ico too; an empty answer keeps its 404 out of the page's console.
      if (path === "/favicon.ico") return new Response(null, { status: 204 });
      return new Response("not found", { status: 404 });
    },
  });
  chromium = await launchChromium();
  page = await chromium.open(`http://127.0.0.1:${pageServer.port}/`);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await chromium?.close();
  await pageServer?.stop(true);
  if (dev !== undefined) await killDev(dev);
});

async function runInPage(protocol: PageProtocol, accountId: string): Promise<ScenarioResult> {
  const call = `runScenario(${JSON.stringify(dev.url)}, ${JSON.stringify(protocol)}, ${JSON.stringify(accountId)}, ${JSON.stringify(MISSING_ORDER_ID)}, ${JSON.stringify(dev.adminKey)})`;
  try {
    return (await page.evaluate(call)) as ScenarioResult;
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\npage console:\n${page.console().join("\n")}\noms dev:\n${dev.output()}`);
  }
}

/** The NotFound a server-side connect-es client gets for the same call: the browser must see the same. */
async function serverSideNotFound(accountId: string): Promise<{ code: string; message: string }> {
  const orders = createClient(OrderService, createClientTransport(dev.url, "connect", { apiKey: dev.adminKey }));
  try {
    await orders.getOrder({ accountId, key: { case: "orderId", value: MISSING_ORDER_ID } });
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: Code[connectError.code], message: connectError.rawMessage };
  }
  throw new Error("GetOrder of a missing order succeeded");
}

for (const protocol of ["connect-json", "grpc-web"] as const) {
  test(`${protocol}: from another origin, an account, a deposit, a buy, its fill on the stream, and NotFound`, async () => {
    const accountId = `browser-${protocol}`;
    const result = await runInPage(protocol, accountId);
    expect(result.pageOrigin).toBe(`http://127.0.0.1:${pageServer.port}`);
    expect(result.pageOrigin).not.toBe(new URL(dev.url).origin);
    expect(result.createdId).toBe(accountId);
    expect(result.cashAfterDeposit).toBe("10000");
    expect(result.fill).toMatchObject({ event: "fill", qty: "1" });
    expect(result.submittedOrderIds).toContain(result.fill?.orderId ?? "(no fill)");
    // Each buy is one share and fills whole: the position counts the fills so far.
    expect(Number(result.fill?.positionQty)).toBeGreaterThanOrEqual(1);
    expect(Number(result.fill?.positionQty)).toBeLessThanOrEqual(result.submittedOrderIds.length);
    expect(Number(result.fill?.price)).toBeGreaterThan(0);
    expect(result.notFound).toEqual(await serverSideNotFound(accountId));
    expect(result.notFound?.code).toBe(Code[Code.NotFound]);
    expect(result.notFound?.message).toContain(MISSING_ORDER_ID);
  }, SCENARIO_TIMEOUT_MS);
}
