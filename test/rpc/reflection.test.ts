// gRPC server reflection as the tools use it: buf curl lists a started balancer's services and
// calls a method with no proto files at hand (over both reflection versions), and each kind of
// reflection request gets the answer the protocol describes, from a stock connect-es client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { startBalancer } from "../../src/cli/start-balancer.ts";
import { ADMIN, issueClusterKey } from "../support/api-keys.ts";
import { startNode } from "../../src/cli/start-node.ts";
import type { ClusterConfig } from "../../src/config/cluster-config.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import * as v1 from "../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { OrderService } from "../../src/gen/oms/v1/order_service_pb.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";

/** Starting a node and a balancer, or one buf curl run; generous for a loaded CI machine. */
const TEST_TIMEOUT_MS = 30_000;
const BUF = join(import.meta.dir, "../../node_modules/.bin/buf");

const running: { stop(): Promise<void> }[] = [];
let balancerUrl = "";
let nodeUrl = "";
/** The API calls below present this admin key; reflection itself needs none. */
let adminKey = "";
const keyArgs = () => ["-H", `Authorization: Bearer ${adminKey}`];

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  const config: ClusterConfig = {
    ...base,
    shardCount: 1,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), "oms-reflection-")),
    balancer: { ...base.balancer, port: 0 },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0] }],
  };
  adminKey = await issueClusterKey(config, ADMIN);
  running.push(await startNode(config, "node-a"));
  const balancer = await startBalancer(config);
  running.push(balancer);
  balancerUrl = `http://127.0.0.1:${balancer.server.port}`;
  nodeUrl = `http://127.0.0.1:${config.nodes[0]?.port}`;
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const r of running.reverse()) await r.stop();
});

async function bufCurl(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BUF, "curl", "--http2-prior-knowledge", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

const PUBLIC_SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "oms.v1.AccountService",
  "oms.v1.AdminService",
  "oms.v1.AssetService",
  "oms.v1.OrderService",
];

for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
  test(`buf curl --list-services (${protocol}) lists what the balancer serves`, async () => {
    const result = await bufCurl(["--list-services", "--reflect-protocol", protocol, balancerUrl]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(PUBLIC_SERVICES);
  }, TEST_TIMEOUT_MS);
}

test("buf curl without --schema calls the API, over Connect and gRPC, and shows an error's code", async () => {
  const created = await bufCurl([...keyArgs(), "-d", '{"accountId":"refl-alice"}', `${balancerUrl}/oms.v1.AccountService/CreateAccount`]);
  expect(created.stderr).toBe("");
  expect(JSON.parse(created.stdout)).toMatchObject({ account: { id: "refl-alice" } });
  const deposit = await bufCurl([...keyArgs(), "--protocol", "grpc", "-d", '{"accountId":"refl-alice","amount":"100.5"}', `${balancerUrl}/oms.v1.AccountService/Deposit`]);
  expect(deposit.stderr).toBe("");
  expect(JSON.parse(deposit.stdout)).toMatchObject({ account: { id: "refl-alice", cash: "100.5" } });
  const missing = await bufCurl([...keyArgs(), "-d", '{"accountId":"refl-nobody","orderId":"none"}', `${balancerUrl}/oms.v1.OrderService/GetOrder`]);
  expect(missing.exitCode).not.toBe(0);
  expect(JSON.parse(missing.stderr)).toMatchObject({ code: "not_found" });
}, TEST_TIMEOUT_MS);

test("a node serves reflection too, listing its own services", async () => {
  const result = await bufCurl(["--list-services", nodeUrl]);
  expect(result.exitCode).toBe(0);
  expect(result.stdout.trim().split("\n")).toEqual([
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "oms.internal.v1.NodeService",
  ]);
}, TEST_TIMEOUT_MS);

type Request = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

/** Sends each request on one stream, as the tools do, and collects the answers. */
async function reflect(requests: Request[]): Promise<v1.ServerReflectionResponse[]> {
  const client = createClient(v1.ServerReflection, createClientTransport(balancerUrl, "grpc"));
  async function* send() {
    for (const request of requests) yield create(v1.ServerReflectionRequestSchema, request);
  }
  const answers: v1.ServerReflectionResponse[] = [];
  for await (const answer of client.serverReflectionInfo(send())) answers.push(answer);
  return answers;
}

function fileNamesOf(answer: v1.ServerReflectionResponse | undefined): string[] {
  if (answer?.messageResponse.case !== "fileDescriptorResponse") throw new Error(`not a file answer: ${answer?.messageResponse.case}`);
  return answer.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

function errorOf(answer: v1.ServerReflectionResponse | undefined): { errorCode: number; errorMessage: string } {
  if (answer?.messageResponse.case !== "errorResponse") throw new Error(`not an error answer: ${answer?.messageResponse.case}`);
  const { errorCode, errorMessage } = answer.messageResponse.value;
  return { errorCode, errorMessage };
}

test("file_by_filename and file_containing_symbol answer the file with all it imports, enough to rebuild the service", async () => {
  const answers = await reflect([
    { host: "oms", messageRequest: { case: "fileByFilename", value: "oms/v1/order_service.proto" } },
    { messageRequest: { case: "fileContainingSymbol", value: "oms.v1.OrderService" } },
    { messageRequest: { case: "fileContainingSymbol", value: "oms.v1.OrderService.SubmitOrder" } },
    { messageRequest: { case: "fileContainingSymbol", value: "oms.v1.Order.limit_price" } },
    { messageRequest: { case: "fileContainingSymbol", value: "oms.v1.SIDE_BUY" } },
    { messageRequest: { case: "fileByFilename", value: "oms/v1/nothing.proto" } },
    { messageRequest: { case: "fileContainingSymbol", value: "oms.v1.NoSuchThing" } },
  ]);
  expect(answers).toHaveLength(7);
  expect(answers[0]?.validHost).toBe("oms");
  expect(answers[0]?.originalRequest?.messageRequest).toEqual({ case: "fileByFilename", value: "oms/v1/order_service.proto" });
  // order_service.proto imports buf/validate for its field rules, which brings descriptor.proto and two more well-known types.
  const orderServiceFiles = [
    "oms/v1/order_service.proto",
    "buf/validate/validate.proto",
    "oms/v1/trading.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/timestamp.proto",
  ];
  expect(fileNamesOf(answers[0])).toEqual(orderServiceFiles);
  expect(fileNamesOf(answers[1])).toEqual(orderServiceFiles);
  expect(fileNamesOf(answers[2])).toEqual(orderServiceFiles);
  expect(fileNamesOf(answers[3])).toEqual(["oms/v1/trading.proto", "google/protobuf/timestamp.proto"]);
  expect(fileNamesOf(answers[4])).toEqual(["oms/v1/trading.proto", "google/protobuf/timestamp.proto"]);
  expect(errorOf(answers[5])).toEqual({ errorCode: Code.NotFound, errorMessage: 'file "oms/v1/nothing.proto" is not known to this server' });
  expect(errorOf(answers[6])).toEqual({ errorCode: Code.NotFound, errorMessage: 'symbol "oms.v1.NoSuchThing" is not known to this server' });
  // The descriptors are whole: a registry built from them alone knows the service and its methods.
  const first = answers[0]?.messageResponse;
  if (first?.case !== "fileDescriptorResponse") throw new Error("unreachable");
  // The asked-for file comes first, as grpc-go answers; a FileDescriptorSet lists imports first.
  const files = first.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes)).reverse();
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
  const service = registry.getService(OrderService.typeName);
  expect(service?.methods.map((method) => method.name)).toEqual(OrderService.methods.map((method) => method.name));
}, TEST_TIMEOUT_MS);

test("the API declares no extensions: their numbers are an empty list, an extension is NOT_FOUND, an unknown type too", async () => {
  const answers = await reflect([
    { messageRequest: { case: "allExtensionNumbersOfType", value: "oms.v1.Order" } },
    { messageRequest: { case: "fileContainingExtension", value: { containingType: "oms.v1.Order", extensionNumber: 100 } } },
    { messageRequest: { case: "allExtensionNumbersOfType", value: "oms.v1.NoSuchMessage" } },
    { messageRequest: { case: undefined } },
  ]);
  expect(answers[0]?.messageResponse).toEqual({
    case: "allExtensionNumbersResponse",
    value: expect.objectContaining({ baseTypeName: "oms.v1.Order", extensionNumber: [] }),
  });
  expect(errorOf(answers[1])).toEqual({ errorCode: Code.NotFound, errorMessage: 'no extension 100 of "oms.v1.Order" is known to this server' });
  expect(errorOf(answers[2])).toEqual({ errorCode: Code.NotFound, errorMessage: 'message type "oms.v1.NoSuchMessage" is not known to this server' });
  expect(errorOf(answers[3]).errorCode).toBe(Code.InvalidArgument);
}, TEST_TIMEOUT_MS);

test("v1alpha gives the same answers under its own message names", async () => {
  const client = createClient(v1alpha.ServerReflection, createClientTransport(balancerUrl, "grpc"));
  async function* send() {
    yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
  }
  const answers: v1alpha.ServerReflectionResponse[] = [];
  for await (const answer of client.serverReflectionInfo(send())) answers.push(answer);
  expect(answers).toHaveLength(1);
  expect(answers[0]?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
  const listed = answers[0]?.messageResponse;
  expect(listed?.case === "listServicesResponse" ? listed.value.service.map((service) => service.name) : []).toEqual(PUBLIC_SERVICES);
}, TEST_TIMEOUT_MS);
