// A node session whose node dies under load must not throw later from a timer: connect-node
// 2.2.0's keepalive pings a destroyed session ~10 s after such a death and the uncaught
// ERR_HTTP2_INVALID_SESSION ends the process (connect-es#1795). The balancer's sessions are
// made here, so this is where it is proved; the test waits out the window.
import { afterAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { createNodeSession, createNodeTransport } from "../../src/rpc/transport.ts";
import { freePort } from "../e2e/dev-process.ts";
import { killNodeProcess, startNodeProcess, writeNodeConfig, type NodeProcess } from "../node/node-process.ts";

/** connect-node's keepalive fired 10 s after the death; wait past it. */
const AFTER_DEATH_WAIT_MS = 12_000;
const CALLS_IN_FLIGHT = 400;
let node: NodeProcess | undefined;
const uncaught: string[] = [];
const onUncaught = (error: unknown) => void uncaught.push(String(error));

afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  if (node !== undefined) await killNodeProcess(node);
});

test("a node SIGKILLed with calls in flight on its session leaves nothing to throw later", async () => {
  process.on("uncaughtException", onUncaught);
  const dataDir = mkdtempSync(join(tmpdir(), "oms-dead-node-"));
  const port = await freePort();
  node = await startNodeProcess(writeNodeConfig({ nodeId: "node-a", port, shardCount: 2, dataDir, snapshotEveryRecords: 1000 }), "node-a", port);
  const session = createNodeSession(node.url);
  const client = createClient(NodeService, createNodeTransport(node.url, { session, timeoutMs: 30_000 }));
  let stop = false;
  let answered = 0;
  const callers = Array.from({ length: CALLS_IN_FLIGHT }, async (_, i) => {
    for (let n = 0; !stop; n++) {
      const ok = await client
        .execute({ commands: [{ command: { case: "createAccount", value: { accountId: `dead-${i}-${n}` } } }] })
        .then(() => true, () => false);
      if (ok) answered += 1;
      else return;
    }
  });
  while (answered < 2_000) await Bun.sleep(10);
  await killNodeProcess(node);
  node = undefined;
  stop = true;
  await Promise.all(callers);
  await Bun.sleep(AFTER_DEATH_WAIT_MS);
  session.abort();
  expect(uncaught).toEqual([]);
}, 60_000);
