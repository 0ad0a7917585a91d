// The cluster secret on the balancer → node hop: the balancer sends it in one header on every
// call, and a node compares it before any work, as a digest (secret-digest.ts).
import type { IncomingHttpHeaders } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { matchesDigest, secretDigest } from "./secret-digest.ts";

/** Not Authorization: that one carries the client's API key at the balancer, never to a node. */
export const CLUSTER_SECRET_HEADER = "oms-cluster-secret";

/** Null when the headers carry the secret; else the refusal, which says what was missing but nothing of the secret. */
export function clusterSecretCheck(secret: string): (headers: IncomingHttpHeaders) => ConnectError | null {
  const expected = secretDigest(secret);
  return (headers) => {
    const presented = headers[CLUSTER_SECRET_HEADER];
    if (typeof presented !== "string" || presented === "") {
      return new ConnectError(`${CLUSTER_SECRET_HEADER}: missing; this node serves only its cluster's balancers`, Code.Unauthenticated);
    }
    if (!matchesDigest(expected, presented)) {
      return new ConnectError(`${CLUSTER_SECRET_HEADER}: not this cluster's secret`, Code.Unauthenticated);
    }
    return null;
  };
}
