// The lean Connect client of the balancer → node hop: a call it gives up on (its timeout) ends
// that call alone; the other calls on the same HTTP/2 connection go on and are answered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as http2 from "node:http2";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";

const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;
let server: http2.Http2Server;
let url = "";
/** Calls the server holds, answered when the test says. */
const held: ((answer: "whole" | "partial") => void)[] = [];

beforeAll(async () => {
  server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.on("error", () => undefined);
    stream.resume();
    stream.on("end", () =>
      held.push((answer) => {
        const body = Buffer.from(toBinary(ExecuteResponseSchema, create(ExecuteResponseSchema, { results: [{ result: { case: "error", value: { code: 5, message: "x".repeat(100_000) } } }] })));
        stream.respond({ ":status": 200, "content-type": "application/proto", "content-length": body.length });
        // Part of the answer, then nothing: the client's timeout ends the call.
        if (answer === "partial") stream.write(body.subarray(0, 1000));
        else stream.end(body);
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => {
  server.close();
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await Bun.sleep(2);
  expect(condition()).toBe(true);
}

test("a call cut off by its own timeout, part of its answer already in, does not end the other calls on the connection", async () => {
  const client = new LeanUnaryClient(url, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema);
  const request = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, {}));
  const late = client.callEncoded(request, 200).then(() => null, (error: unknown) => ConnectError.from(error));
  await until(() => held.length === 1);
  const other = client.callEncoded(request, 30_000).then((body) => body.length, (error: unknown) => ConnectError.from(error));
  await until(() => held.length === 2);
  held[0]?.("partial");
  const timedOut = await late;
  expect([timedOut?.code, timedOut?.rawMessage]).toEqual([Code.DeadlineExceeded, `${EXECUTE_PATH}: no answer in 200 ms`]);
  held[1]?.("whole");
  const answered = await other;
  expect(answered instanceof ConnectError ? answered.message : "answered").toBe("answered");
  client.close();
}, 30_000);
