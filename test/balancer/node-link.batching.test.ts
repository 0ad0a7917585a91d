// The balancer→node link batches by the node's own pace: a call goes out at once while fewer
// than BATCHES_IN_FLIGHT_MAX batches are with the node, and calls made while the node holds
// that many go together, in order, in the next batch once one comes back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as http2 from "node:http2";
import { BATCHES_IN_FLIGHT_MAX, NodeLink } from "../../src/balancer/node-link.ts";
import { ConnectError } from "@connectrpc/connect";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeCommandSchema, NodeResultSchema, type ExecuteRequest } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";

/** A node that holds every Execute until the test releases it, and answers each command with its account id. */
const held: { request: ExecuteRequest; answer: () => void }[] = [];
let server: http2.Http2Server;
let link: NodeLink;

beforeAll(async () => {
  server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      expect(headers[":path"]).toBe("/oms.internal.v1.NodeService/Execute");
      const request = fromBinary(ExecuteRequestSchema, Buffer.concat(chunks));
      const results = request.commands.map((command) =>
        create(NodeResultSchema, { result: { case: "error", value: { code: 5, message: (command.command.value as { accountId: string }).accountId } } }),
      );
      held.push({
        request,
        answer: () => {
          stream.respond({ ":status": 200, "content-type": "application/proto" });
          stream.end(toBinary(ExecuteResponseSchema, create(ExecuteResponseSchema, { results })));
        },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  link = new NodeLink({ id: "node-a", url, shards: [0] }, createNodeTransport(url), { info: () => undefined, warn: () => undefined }, 5_000);
});

afterAll(() => {
  link.close();
  server.close();
});

const call = (accountId: string) => link.answer(create(NodeCommandSchema, { command: { case: "getAccount", value: { accountId } } })).then((answer) => answer.valueOf("getAccount"));
const answeredFor = (result: Uint8Array | ConnectError) => (result instanceof ConnectError ? result.rawMessage : "?");

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await Bun.sleep(5);
  expect(condition()).toBe(true);
}

test("calls made while the node holds the most batches in flight go together in the next batch", async () => {
  expect(BATCHES_IN_FLIGHT_MAX).toBe(2);
  const first = [call("a-1"), call("a-2")];
  await until(() => held.length === 1);
  const second = call("b-1");
  await until(() => held.length === 2);
  const waiting = ["c-1", "c-2", "c-3", "c-4", "c-5"].map(call);
  await Bun.sleep(50);
  expect(held.length).toBe(2);
  held[0]?.answer();
  expect((await Promise.all(first)).map(answeredFor)).toEqual(["a-1", "a-2"]);
  await until(() => held.length === 3);
  expect(held[2]?.request.commands.map((command) => (command.command.value as { accountId: string }).accountId)).toEqual(["c-1", "c-2", "c-3", "c-4", "c-5"]);
  held[1]?.answer();
  held[2]?.answer();
  expect(answeredFor(await second)).toBe("b-1");
  expect((await Promise.all(waiting)).map(answeredFor)).toEqual(["c-1", "c-2", "c-3", "c-4", "c-5"]);
  expect(link.sent).toEqual({ batches: 3, commands: 8 });
}, 10_000);
