// TLS on the one port: curl over HTTP/1.1 and HTTP/2 (ALPN picks), connect-es's client over
// HTTP/2, each checking the server against a throwaway CA; a plain-text client is not served;
// and with mutual TLS, a client without a certificate signed by the cluster CA is refused in
// the handshake while one with it is served.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { clientTlsOptions } from "../../src/rpc/tls.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls-certificates.ts";

let certs: TestCertificates;
let server: RpcServer;
let mutual: RpcServer;
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";

beforeAll(async () => {
  certs = makeTestCertificates();
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const tls = { cert: certs.pem(certs.serverCertFile), key: certs.pem(certs.serverKeyFile) };
  server = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health), tls });
  mutual = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health), tls: { ...tls, clientCa: certs.pem(certs.caFile) } });
});

afterAll(async () => {
  await server?.close();
  await mutual?.close();
  certs?.remove();
});

/** curl checking the server against the test CA: the HTTP version it spoke, and the body. */
async function curl(port: number, version: "--http1.1" | "--http2", extra: string[] = []): Promise<{ httpVersion: string; body: string; exitCode: number }> {
  const args = ["curl", "-sS", version, "--cacert", certs.caFile, "-H", "content-type: application/json", "-d", "{}", "-w", "\n%{http_version}", ...extra, `https://127.0.0.1:${port}${HEALTH_CHECK}`];
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [text, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const cut = text.lastIndexOf("\n");
  return { body: text.slice(0, cut), httpVersion: text.slice(cut + 1), exitCode };
}

test("curl over TLS is served on HTTP/1.1 and, by ALPN, on HTTP/2", async () => {
  const h1 = await curl(server.port, "--http1.1");
  expect([h1.exitCode, h1.httpVersion, h1.body]).toEqual([0, "1.1", '{"status":"SERVING"}']);
  const h2 = await curl(server.port, "--http2");
  expect([h2.exitCode, h2.httpVersion, h2.body]).toEqual([0, "2", '{"status":"SERVING"}']);
});

test("connect-es's clients over HTTP/2 and TLS (Connect and gRPC) are served", async () => {
  const nodeOptions = clientTlsOptions({ ca: certs.pem(certs.caFile) });
  const baseUrl = `https://127.0.0.1:${server.port}`;
  for (const transport of [createConnectTransport({ baseUrl, httpVersion: "2", nodeOptions }), createGrpcTransport({ baseUrl, nodeOptions })]) {
    expect((await createClient(Health, transport).check({ service: SERVER_HEALTH }, { timeoutMs: 5_000 })).status).toBe(ServingStatus.SERVING);
  }
});

test("a plain-text request to a TLS port gets no answer", async () => {
  const answer = await fetch(`http://127.0.0.1:${server.port}${HEALTH_CHECK}`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }).then(
    (response) => response.status,
    () => "refused",
  );
  expect(answer).toBe("refused");
});

test("a TCP connection that never starts its TLS handshake is closed at the head timeout", async () => {
  const health = new HealthStatus();
  const tls = { cert: certs.pem(certs.serverCertFile), key: certs.pem(certs.serverKeyFile) };
  const short = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health), tls, limits: { connectionsMax: 10, headersTimeoutMs: 300, idleTimeoutMs: 60_000 } });
  try {
    const socket = net.connect({ host: "127.0.0.1", port: short.port });
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("close", resolve));
    expect([short.connectionCounts().open, short.connectionCounts().headers_timeout]).toEqual([0, 1]);
  } finally {
    await short.close();
  }
});

test("mutual TLS: no client certificate, or one from another CA, fails the handshake; the cluster CA's is served", async () => {
  const ca = certs.pem(certs.caFile);
  const attempt = (tls: Parameters<typeof clientTlsOptions>[0]) =>
    new Promise<string>((resolve) => {
      const session = http2.connect(`https://127.0.0.1:${mutual.port}`, clientTlsOptions(tls));
      session.on("error", (error) => resolve(`error: ${error.message}`));
      const stream = session.request({ ":method": "POST", ":path": HEALTH_CHECK, "content-type": "application/json" });
      let body = "";
      let status = 0;
      stream.on("response", (headers) => (status = Number(headers[":status"])));
      stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
      // Under TLS 1.3 a refused client certificate ends the connection after the client's side
      // of the handshake; Bun then ends the stream without an answer rather than failing it.
      stream.on("end", () => {
        session.close();
        resolve(status === 0 ? "error: no answer" : `${status} ${body}`);
      });
      stream.on("error", (error) => resolve(`error: ${error.message}`));
      stream.end("{}");
    });
  expect(await attempt({ ca })).toStartWith("error");
  expect(await attempt({ ca, cert: certs.pem(certs.strangerCertFile), key: certs.pem(certs.strangerKeyFile) })).toStartWith("error");
  expect(await attempt({ ca, cert: certs.pem(certs.clientCertFile), key: certs.pem(certs.clientKeyFile) })).toBe('200 {"status":"SERVING"}');
  const curlWithout = await curl(mutual.port, "--http1.1");
  expect([curlWithout.exitCode === 0, curlWithout.body]).toEqual([false, ""]);
  const curlStranger = await curl(mutual.port, "--http1.1", ["--cert", certs.strangerCertFile, "--key", certs.strangerKeyFile]);
  expect([curlStranger.exitCode === 0, curlStranger.body]).toEqual([false, ""]);
  const curlWith = await curl(mutual.port, "--http1.1", ["--cert", certs.clientCertFile, "--key", certs.clientKeyFile]);
  expect([curlWith.exitCode, curlWith.body]).toEqual([0, '{"status":"SERVING"}']);
});
