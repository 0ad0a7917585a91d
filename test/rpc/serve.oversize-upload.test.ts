// A message over the size limit on HTTP/2 is answered RESOURCE_EXHAUSTED and then the stream is
// reset with NO_ERROR: the client still uploading stops instead of waiting on flow control for
// ever, and the other streams of its session go on (no ENHANCE_YOUR_CALM for the session).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { MESSAGE_BYTES_MAX, serveRpc, type RpcServer } from "../../src/rpc/serve.ts";

let server: RpcServer;
beforeAll(async () => {
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  server = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health) });
});
afterAll(() => server.close());

interface Ended {
  trailers: http2.IncomingHttpHeaders | null;
  rstCode: number | undefined;
}

/** Sends an envelope declaring `declared` bytes, then uploads that many; resolves when the stream closes. */
function upload(session: http2.ClientHttp2Session, path: string, declared: number): Promise<Ended> {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc" });
  let trailers: http2.IncomingHttpHeaders | null = null;
  stream.on("trailers", (received) => (trailers = received));
  stream.on("error", () => undefined);
  stream.resume();
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declared, 1);
  stream.write(header);
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  const pump = (): void => {
    while (sent < declared && !stream.closed) {
      sent += chunk.length;
      if (!stream.write(chunk)) {
        stream.once("drain", pump);
        return;
      }
    }
    stream.end();
  };
  pump();
  return new Promise((resolve) => stream.on("close", () => resolve({ trailers, rstCode: stream.rstCode })));
}

function check(session: http2.ClientHttp2Session): Promise<string | undefined> {
  const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc" });
  let status: string | undefined;
  stream.on("trailers", (trailers) => (status = String(trailers["grpc-status"])));
  stream.on("error", () => undefined);
  stream.resume();
  stream.end(Buffer.alloc(5));
  return new Promise((resolve) => stream.on("close", () => resolve(status)));
}

for (const path of ["/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"]) {
  test(`an oversized upload to ${path} is answered 8, its stream reset with NO_ERROR, and the session goes on`, async () => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    let goaway: number | null = null;
    session.on("goaway", (code) => (goaway = code));
    session.on("error", () => undefined);
    const ended = await upload(session, path, MESSAGE_BYTES_MAX + 2 * 1024 * 1024);
    expect(ended.trailers?.["grpc-status"]).toBe("8");
    expect(ended.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(await check(session)).toBe("0");
    expect(goaway).toBeNull();
    session.close();
  }, 20_000);
}
