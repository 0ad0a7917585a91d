// The whole path encrypted, as the configuration sets it: the public port over TLS, and the
// balancer → node hop over TLS with mutual authentication (the node requires the balancer's
// client certificate, signed by the cluster CA, in place of a secret). Orders, trade-update
// streams' node and quotes all cross the hop; a caller without the client certificate is
// refused in the handshake, before any request.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../../src/config/cluster-config.ts";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { AssetService } from "../../src/gen/oms/v1/asset_service_pb.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";
import { clientTlsOptions } from "../../src/rpc/tls.ts";
import { ADMIN, issueClusterKey, keyHeaders } from "../support/api-keys.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls-certificates.ts";

const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;
let certs: TestCertificates;
let dataDir = "";
let node: RunningNode;
let balancer: RunningBalancer;
let balancerUrl = "";
let nodeUrl = "";

/** Every public call's headers, in one place so that an API key can be added at merge. */
function balancerHeaders(): Record<string, string> {
  return keyHeaders(adminKey);
}
let adminKey = "";

beforeAll(async () => {
  certs = makeTestCertificates();
  dataDir = mkdtempSync(join(tmpdir(), "oms-cluster-tls-"));
  const config: ClusterConfig = {
    ...CLUSTER_DEFAULTS,
    shardCount: 2,
    dataDir,
    logLevel: "error",
    balancer: { ...CLUSTER_DEFAULTS.balancer, tlsCertFile: certs.serverCertFile, tlsKeyFile: certs.serverKeyFile },
    cluster: {
      ...CLUSTER_DEFAULTS.cluster,
      tlsCaFile: certs.caFile,
      tlsCertFile: certs.serverCertFile,
      tlsKeyFile: certs.serverKeyFile,
      tlsClientCertFile: certs.clientCertFile,
      tlsClientKeyFile: certs.clientKeyFile,
    },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
  adminKey = await issueClusterKey(config, ADMIN);
  node = await startNode(config, "node-a");
  balancer = await startBalancer(config, 0);
  balancerUrl = `https://127.0.0.1:${balancer.server.port}`;
  nodeUrl = `https://127.0.0.1:${node.server.port}`;
}, 30_000);

afterAll(async () => {
  await balancer?.stop();
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  certs?.remove();
});

test("a client of the TLS public port is served through the mutual-TLS hop: commands and quotes", async () => {
  const nodeOptions = clientTlsOptions({ ca: certs.pem(certs.caFile) });
  const transport = createConnectTransport({ baseUrl: balancerUrl, httpVersion: "2", nodeOptions });
  const accounts = createClient(AccountService, transport);
  expect((await accounts.createAccount({ accountId: "tls-1" }, { headers: balancerHeaders() })).account?.id).toBe("tls-1");
  expect((await accounts.deposit({ accountId: "tls-1", amount: "10" }, { headers: balancerHeaders() })).account?.cash).toBe("10");
  expect((await createClient(AssetService, transport).listAssets({}, { headers: balancerHeaders() })).assets.length).toBeGreaterThan(0);
});

test("a caller of the node without the cluster's client certificate gets no answer; with it, Execute is served", async () => {
  const ca = certs.pem(certs.caFile);
  const batch = create(ExecuteRequestSchema, { commands: [{ command: { case: "createAccount", value: { accountId: "tls-intruder" } } }] });
  const stranger = new LeanUnaryClient(nodeUrl, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema, { tls: { ca } });
  const refused = await stranger.call(batch, 5_000).then(() => null, (error: unknown) => ConnectError.from(error));
  stranger.close();
  expect(refused).not.toBeNull();
  const accounts = createClient(AccountService, createConnectTransport({ baseUrl: balancerUrl, httpVersion: "2", nodeOptions: clientTlsOptions({ ca }) }));
  const lookup = await accounts.getAccount({ accountId: "tls-intruder" }, { headers: balancerHeaders() }).then(() => "found", (error: unknown) => ConnectError.from(error).code);
  expect(lookup).not.toBe("found");
  const member = new LeanUnaryClient(nodeUrl, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema, { tls: { ca, cert: certs.pem(certs.clientCertFile), key: certs.pem(certs.clientKeyFile) } });
  const served = await member.call(create(ExecuteRequestSchema, { commands: [{ command: { case: "getAccount", value: { accountId: "tls-1" } } }] }), 5_000);
  member.close();
  expect(served.results[0]?.result.case).toBe("getAccount");
});
