// A lean Connect-protocol client for SubmitOrder, for the load generator: one HTTP/2 session,
// requests encoded once up front, each call a POST of application/proto whose answer is read
// and decoded. connect-es's client spends ~100 µs of CPU per unary call on generic machinery;
// on a 2-core machine that CPU is taken from the system being measured, so the e2e level uses
// this one by default (`--client connect-es` selects connect-es's).
import * as http2 from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SubmitOrderRequestSchema, SubmitOrderResponseSchema, type SubmitOrderRequest } from "../src/gen/oms/v1/order_service_pb.ts";

const SUBMIT_PATH = "/oms.v1.OrderService/SubmitOrder";

export class LeanSubmitClient {
  private readonly session: http2.ClientHttp2Session;

  /** keyHeaders present the API key (test/support/api-keys.ts keyHeaders). */
  constructor(baseUrl: string, private readonly timeoutMs: number, private readonly keyHeaders: Readonly<Record<string, string>>) {
    this.session = http2.connect(baseUrl);
    this.session.on("error", () => undefined);
  }

  encode(request: SubmitOrderRequest): Uint8Array {
    return toBinary(SubmitOrderRequestSchema, request);
  }

  /** timeoutMs: this call's deadline (connect-timeout-ms), if not the client's. */
  submit(body: Uint8Array, timeoutMs = this.timeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        ":method": "POST",
        ":path": SUBMIT_PATH,
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        "connect-timeout-ms": String(timeoutMs),
        ...this.keyHeaders,
      });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on("response", (headers) => (status = Number(headers[":status"])));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (status !== 200) {
          reject(new Error(`SubmitOrder: HTTP ${status}: ${bytes.toString("utf8")}`));
          return;
        }
        fromBinary(SubmitOrderResponseSchema, bytes);
        resolve();
      });
      stream.on("error", reject);
      stream.end(body);
    });
  }

  close(): void {
    this.session.close();
  }
}
