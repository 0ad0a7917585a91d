// The cluster secret on the balancer → node hop: the balancer sends it in one header on every
// call, and a node compares it before any work. Both sides are compared as SHA-256 digests with
// timingSafeEqual, so that neither the time taken nor a length mismatch says how much of a
// guess was right.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";

/** Not Authorization: that one carries the client's API key at the balancer, never to a node. */
export const CLUSTER_SECRET_HEADER = "oms-cluster-secret";

function digestOf(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Null when the headers carry the secret; else the refusal, which says what was missing but nothing of the secret. */
export function clusterSecretCheck(secret: string): (headers: IncomingHttpHeaders) => ConnectError | null {
  const expected = digestOf(secret);
  return (headers) => {
    const presented = headers[CLUSTER_SECRET_HEADER];
    if (typeof presented !== "string" || presented === "") {
      return new ConnectError(`${CLUSTER_SECRET_HEADER}: missing; this node serves only its cluster's balancers`, Code.Unauthenticated);
    }
    if (!timingSafeEqual(digestOf(presented), expected)) {
      return new ConnectError(`${CLUSTER_SECRET_HEADER}: not this cluster's secret`, Code.Unauthenticated);
    }
    return null;
  };
}
