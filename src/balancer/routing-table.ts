// Which node owns which account: shard = shardOf(account id), owner = the node the cluster
// configuration gives that shard. The table is fixed for the balancer's life.
import type { NodeLink } from "./node-link.ts";

export class RoutingTable {
  private readonly ownerByShard: NodeLink[];

  constructor(
    readonly shardCount: number,
    private readonly shardOf: (accountId: string) => number,
    links: readonly NodeLink[],
  ) {
    const owners: (NodeLink | undefined)[] = new Array(shardCount).fill(undefined);
    for (const link of links) {
      for (const shard of link.endpoint.shards) {
        if (owners[shard] !== undefined) throw new Error(`routing: shard ${shard} has two owners`);
        owners[shard] = link;
      }
    }
    owners.forEach((owner, shard) => {
      if (owner === undefined) throw new Error(`routing: shard ${shard} has no owner`);
    });
    this.ownerByShard = owners as NodeLink[];
  }

  ownerOf(accountId: string): NodeLink {
    const owner = this.ownerByShard[this.shardOf(accountId)];
    if (owner === undefined) throw new Error(`routing: no owner for account ${accountId}`);
    return owner;
  }
}
