// AssetService.ListAssets: the tradable symbols with their latest quotes. Every node's venue
// lists the same symbols, so any node that is up answers; the next one is tried if a call
// fails, and with none up the answer is UNAVAILABLE.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ConnectRouter, type Interceptor, type Transport } from "@connectrpc/connect";
import { NodeService } from "../gen/oms/internal/v1/node_pb.ts";
import { AssetService, ListAssetsResponseSchema, type ListAssetsResponse } from "../gen/oms/v1/asset_service_pb.ts";

export interface QuoteSource {
  readonly id: string;
  /** The balancer's health checks think the node is up. */
  readonly healthy: boolean;
  readonly transport: Transport;
}

/** `interceptors` holds the key check (auth/auth-interceptor.ts): any valid key may list assets. */
export function assetServiceRoutes(sources: readonly QuoteSource[], interceptors: Interceptor[]): (router: ConnectRouter) => void {
  const nodes = sources.map((source) => ({ source, client: createClient(NodeService, source.transport) }));
  return (router) => {
    router.service(AssetService, {
      listAssets: async (_request, context): Promise<ListAssetsResponse> => {
        const failures: string[] = [];
        for (const { source, client } of nodes) {
          if (!source.healthy) continue;
          try {
            const { assets } = await client.listQuotes({}, { signal: context.signal });
            return create(ListAssetsResponseSchema, { assets });
          } catch (error) {
            failures.push(`${source.id}: ${ConnectError.from(error).message}`);
          }
        }
        const tried = failures.length === 0 ? "no node is up" : `no node answered (${failures.join("; ")})`;
        throw new ConnectError(`assets: ${tried}; retry shortly`, Code.Unavailable);
      },
    }, { interceptors });
  };
}
