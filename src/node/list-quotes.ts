// NodeService.ListQuotes: the symbols this node's venue lists, each with its latest quote, for
// the balancer's AssetService.ListAssets. It reads the venue only: no shard, log or lease.
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { formatCash } from "../core/money.ts";
import { ListQuotesResponseSchema, NodeService, type ListQuotesResponse } from "../gen/oms/internal/v1/node_pb.ts";
import type { Venue } from "../venue/venue.ts";

export function listQuotes(venue: Venue): ListQuotesResponse {
  const assets = venue.symbols().flatMap((symbol) => {
    const quote = venue.quote(symbol);
    if (quote === undefined) return [];
    const prices = { bidPrice: formatCash(quote.bid), askPrice: formatCash(quote.ask), lastPrice: formatCash(quote.last) };
    return [{ symbol, tradable: true, quote: prices }];
  });
  return create(ListQuotesResponseSchema, { assets });
}

/**
 * Registers ListQuotes alone (router.rpc): it must come after the NodeService routes, whose
 * service() registration answers the methods it does not implement with Unimplemented.
 */
export function listQuotesRoute(venue: Venue): (router: ConnectRouter) => void {
  return (router) => {
    router.rpc(NodeService.method.listQuotes, () => listQuotes(venue));
  };
}
