// A real `oms node` process killed with SIGKILL while the balancer's link has batches in
// flight: every call the kill cut off is answered UNAVAILABLE (never UNKNOWN or INTERNAL), and
// the link is down, so later calls are refused at once instead of reaching for a dead node.
import { afterAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeLink } from "../../src/balancer/node-link.ts";
import { NodeCommandSchema, type NodeCommand } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";
import { killNodeProcess, startNodeProcess, writeNodeConfig } from "../node/node-process.ts";

/** Calls kept in flight: several batches are always with the node when the kill lands. */
const CALLS_IN_FLIGHT = 200;
const ACKS_BEFORE_KILL = 300;
/** Starting the node includes recovery; a slow CI machine gets this long. */
const TEST_TIMEOUT_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), "oms-node-down-kill9-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const command = (accountId: string, index: number): NodeCommand =>
  create(NodeCommandSchema, { command: { case: "createAccount", value: { accountId: `${accountId}-${index}` } } });

test("a node SIGKILLed mid-batch: the callers cut off get UNAVAILABLE, and the link goes down", async () => {
  const port = await freePort();
  const configPath = writeNodeConfig({ nodeId: "node-a", port, shardCount: 2, dataDir, snapshotEveryRecords: 1_000_000 });
  const node = await startNodeProcess(configPath, "node-a", port);
  const link = new NodeLink({ id: "node-a", url: node.url, shards: [0, 1] }, createNodeTransport(node.url), { info: () => undefined, warn: () => undefined }, 10_000);
  let acknowledged = 0;
  let sent = 0;
  const failures: ConnectError[] = [];
  const killed = Promise.withResolvers<void>();
  let killing = false;
  const sendNext = (): void => {
    if (killing && failures.length > 0) return;
    const index = sent++;
    link.answer(command("acct", index)).then(
      () => {
        acknowledged += 1;
        if (acknowledged === ACKS_BEFORE_KILL) {
          killing = true;
          void killNodeProcess(node).then(() => killed.resolve());
        }
        sendNext();
      },
      (error: unknown) => failures.push(ConnectError.from(error)),
    );
  };
  for (let i = 0; i < CALLS_IN_FLIGHT; i++) sendNext();
  await killed.promise;
  for (let i = 0; i < 500 && failures.length + acknowledged < sent; i++) await Bun.sleep(10);
  link.close();

  expect(failures.length).toBeGreaterThan(0);
  const codes = new Set(failures.map((error) => Code[error.code]));
  expect([...codes]).toEqual(["Unavailable"]);
  expect(link.healthy).toBe(false);
}, TEST_TIMEOUT_MS);
