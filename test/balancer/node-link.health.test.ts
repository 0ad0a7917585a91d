// A node link's health under load: a health check that times out while the node answers
// Execute batches leaves the link up (a busy node is not a dead one); once nothing is answered
// either, the next timed-out check takes it down.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as http2 from "node:http2";
import { NodeLink } from "../../src/balancer/node-link.ts";
import { ExecuteResponseSchema, NodeCommandSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";

/** Health checks never answered; Execute answered at once with one result per call. */
let healthChecks = 0;
let server: http2.Http2Server;
let link: NodeLink;
/** Also each check's timeout: long enough for many batches to be answered within one, however loaded the machine. */
const HEALTH_INTERVAL_MS = 200;

beforeAll(async () => {
  server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    stream.on("error", () => undefined);
    stream.resume();
    if (String(headers[":path"]).startsWith("/grpc.health.v1.Health/")) {
      healthChecks += 1;
      return;
    }
    stream.on("end", () => {
      const results = [create(NodeResultSchema, { result: { case: "error", value: { code: 5, message: "answered" } } })];
      stream.respond({ ":status": 200, "content-type": "application/proto" });
      stream.end(toBinary(ExecuteResponseSchema, create(ExecuteResponseSchema, { results })));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  link = new NodeLink({ id: "node-busy", url, shards: [0] }, createNodeTransport(url), { info: () => undefined, warn: () => undefined }, 5_000);
});

afterAll(() => {
  link.close();
  server.close();
});

const call = () => link.answer(create(NodeCommandSchema, { command: { case: "getAccount", value: { accountId: "a-1" } } }));

test("timed-out health checks leave the link up while batches are answered, and take it down when nothing is", async () => {
  // The link's connection is open before the first check.
  expect((await call()).valueOf("getAccount")).toMatchObject({ rawMessage: "answered" });
  link.startHealthChecks(HEALTH_INTERVAL_MS);
  // Batches answered back to back, while three health checks come and time out.
  while (healthChecks < 4) expect((await call()).valueOf("getAccount")).toMatchObject({ rawMessage: "answered" });
  expect(link.healthy).toBe(true);
  // Nothing more is sent: the next check that times out finds no batch answered.
  const seen = healthChecks;
  while (link.healthy && healthChecks < seen + 20) await Bun.sleep(HEALTH_INTERVAL_MS);
  expect(link.healthy).toBe(false);
}, 30_000);
