// A node that dies in the middle of a batch (its process killed: the connection closes under
// the open stream) leaves the batch's outcome unknown: the records may be in its log. The
// callers get UNAVAILABLE saying so, never an UNKNOWN HTTP 500 nor a cut-off answer read as
// whole, and the link is marked down until health checks say the node serves again.
import { afterEach, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { NodeLink } from "../../src/balancer/node-link.ts";
import { NodeCommandSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";

type Death = "before answering" | "halfway through its answer";

const open: { close(): void }[] = [];
afterEach(() => {
  for (const each of open.splice(0)) each.close();
});

/**
 * A node that reads each Execute and then drops every connection it has, as a killed process
 * does: before any answer, or after the answer's headers and part of its body.
 */
async function dyingNode(death: Death): Promise<string> {
  const server = http2.createServer();
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => sockets.add(socket));
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      if (death === "halfway through its answer") {
        // The answer's length is declared, and only part of it is sent.
        stream.respond({ ":status": 200, "content-type": "application/proto", "content-length": 64 });
        stream.write(Buffer.from([0x0a, 0x3e, 0x0a]));
      }
      setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 10);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  open.push({ close: () => server.close() });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

for (const death of ["before answering", "halfway through its answer"] as const) {
  test(`a node that dies ${death} gives every caller in the batch UNAVAILABLE with the outcome unknown, and its link goes down`, async () => {
    const url = await dyingNode(death);
    const link = new NodeLink({ id: "node-a", url, shards: [0, 1] }, createNodeTransport(url), { info: () => undefined, warn: () => undefined }, 5_000);
    open.push(link);
    const deposit = (accountId: string) => link.answer(create(NodeCommandSchema, { command: { case: "deposit", value: { accountId, amount: "10" } } }));
    const errors = await Promise.all(["acct-1", "acct-2", "acct-3"].map((id) => deposit(id).then(() => null, (error: unknown) => ConnectError.from(error))));
    expect(link.sent.batches).toBe(1);
    for (const error of errors) {
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.rawMessage).toContain("node-a");
      expect(error?.rawMessage).toContain("outcome is unknown");
    }
    expect(link.healthy).toBe(false);
    // Down means later calls are answered at once, without reaching for the dead node.
    const after = await deposit("acct-4").then(() => null, (error: unknown) => ConnectError.from(error));
    expect([after?.code, link.sent.batches]).toEqual([Code.Unavailable, 1]);
  });
}
