// AssetService.ListAssets through the balancer's routes: the first node that is up answers,
// a node that fails is passed over for the next, and with no node answering the caller gets
// UNAVAILABLE naming what was tried. Nodes here are connect-es router transports, in memory.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type Transport } from "@connectrpc/connect";
import { expect, test } from "bun:test";
import { assetServiceRoutes, type QuoteSource } from "../../src/balancer/asset-service.ts";
import { ListQuotesResponseSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { AssetService } from "../../src/gen/oms/v1/asset_service_pb.ts";

/** A node whose ListQuotes answers one asset named after it, or fails with code. */
function node(id: string, failWith: Code | null = null): { transport: Transport; calls: () => number } {
  let calls = 0;
  const transport = createRouterTransport((router) => {
    router.rpc(NodeService.method.listQuotes, () => {
      calls += 1;
      if (failWith !== null) throw new ConnectError(`${id} is stopping`, failWith);
      return create(ListQuotesResponseSchema, { assets: [{ symbol: id.toUpperCase(), tradable: true, quote: { bidPrice: "1", askPrice: "1.01", lastPrice: "1" } }] });
    });
  });
  return { transport, calls: () => calls };
}

function balancer(sources: readonly QuoteSource[]) {
  // No key check here: the routes' own behaviour; the check is tested through the balancer (test/auth).
  return createClient(AssetService, createRouterTransport(assetServiceRoutes(sources, [])));
}

test("the first node that is up answers, with its assets as they are", async () => {
  const [a, b] = [node("a"), node("b")];
  const answer = await balancer([
    { id: "a", healthy: false, transport: a.transport },
    { id: "b", healthy: true, transport: b.transport },
  ]).listAssets({});
  expect(answer.assets.map((asset) => [asset.symbol, asset.quote?.askPrice])).toEqual([["B", "1.01"]]);
  expect([a.calls(), b.calls()]).toEqual([0, 1]);
});

test("a node that fails is passed over for the next one up", async () => {
  const [a, b] = [node("a", Code.Unavailable), node("b")];
  const answer = await balancer([
    { id: "a", healthy: true, transport: a.transport },
    { id: "b", healthy: true, transport: b.transport },
  ]).listAssets({});
  expect(answer.assets.map((asset) => asset.symbol)).toEqual(["B"]);
  expect([a.calls(), b.calls()]).toEqual([1, 1]);
});

test("with no node up, or none answering, the call is UNAVAILABLE and says which", async () => {
  const down = balancer([{ id: "a", healthy: false, transport: node("a").transport }]).listAssets({});
  expect(await down.catch((error: unknown) => ConnectError.from(error))).toMatchObject({ code: Code.Unavailable, rawMessage: "assets: no node is up; retry shortly" });
  const failing = balancer([{ id: "a", healthy: true, transport: node("a", Code.Internal).transport }]).listAssets({});
  expect(await failing.catch((error: unknown) => ConnectError.from(error))).toMatchObject({
    code: Code.Unavailable,
    rawMessage: "assets: no node answered (a: [internal] a is stopping); retry shortly",
  });
});
