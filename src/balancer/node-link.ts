// The balancer's connection to one node: calls are gathered into batches, health is polled,
// and a node that is down is answered for at once with UNAVAILABLE instead of a hung call.
//
// A batch goes out at the end of the event-loop turn its first call arrived in, unless
// BATCHES_IN_FLIGHT_MAX batches are already with the node: then calls gather until one comes
// back. Bun's timers cannot hold a batch for less than ~1 ms, so the wait is the node's own
// answer time: batches are one call at low rates (nothing added to latency) and grow with the
// rate (one Execute, its HTTP/2 stream and its encoding shared by many orders).
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import {
  NodeService,
  type NodeCommand,
  NodeCommandSchema,
  ExecuteRequestSchema,
  ExecuteResponseSchema,
} from "../gen/oms/internal/v1/node_pb.ts";
import { balancerMetrics, type NodeLinkMetrics } from "../metrics/balancer-metrics.ts";
import { LeanUnaryClient } from "../rpc/lean-unary-client.ts";
import type { NodeHop } from "../rpc/transport.ts";
import { nodeAnswersOf, type NodeAnswer } from "./node-answer.ts";
import { encodedExecuteRequest } from "./node-command-bytes.ts";
import type { TradeUpdate } from "../gen/oms/v1/trading_pb.ts";

/** Matches the node's own bound on a batch. */
export const BATCH_COMMANDS_MAX = 4096;
/**
 * Two, so that the node decides one batch while the log makes the other durable. A full batch
 * goes out whatever is in flight: calls never queue behind this bound for more than a batch.
 */
export const BATCHES_IN_FLIGHT_MAX = 2;

export interface NodeEndpoint {
  id: string;
  url: string;
  shards: readonly number[];
}

export interface LinkLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Told the node's answer to one command, or why there is none. */
export interface AnswerReceiver {
  resolve(answer: NodeAnswer): void;
  reject(error: ConnectError): void;
}

/** A command for the node and the receiver of its answer. */
export interface SentCommand extends AnswerReceiver {
  /** An encoded NodeCommand. */
  readonly command: Uint8Array;
}

export class NodeLink {
  private readonly nodeClient: Client<typeof NodeService>;
  /** Execute, the hot call, through a lean Connect client; streams and health through connect-es. */
  private readonly executeClient: LeanUnaryClient<typeof ExecuteRequestSchema, typeof ExecuteResponseSchema>;
  private readonly healthClient: Client<typeof Health>;
  private queue: SentCommand[] = [];
  private flushScheduled = false;
  private batchesInFlight = 0;
  private batchesSent = 0;
  private commandsSent = 0;
  /** Until the first health check answers, calls are tried rather than refused. */
  private up = true;
  private healthTimer: ReturnType<typeof setInterval> | null = null;
  private readonly metrics: NodeLinkMetrics;

  constructor(
    readonly endpoint: NodeEndpoint,
    transport: Transport,
    private readonly logger: LinkLogger,
    private readonly callTimeoutMs: number,
    /** The secret and TLS of the lean Execute client; the transport carries its own (the same, from createNodeTransport). */
    hop: NodeHop = {},
  ) {
    this.nodeClient = createClient(NodeService, transport);
    this.executeClient = new LeanUnaryClient(endpoint.url, `/${NodeService.typeName}/${NodeService.method.execute.name}`, ExecuteRequestSchema, ExecuteResponseSchema, hop);
    this.healthClient = createClient(Health, transport);
    this.metrics = balancerMetrics.nodeLink(endpoint.id);
  }

  get healthy(): boolean {
    return this.up;
  }

  /** Batches and commands sent to the node so far: their ratio is the mean batch size. */
  get sent(): { batches: number; commands: number } {
    return { batches: this.batchesSent, commands: this.commandsSent };
  }

  /** The node's answer still encoded: a binary client may get its bytes as they are. */
  answer(command: NodeCommand): Promise<NodeAnswer> {
    return this.answerEncoded(toBinary(NodeCommandSchema, command));
  }

  /** The same for a NodeCommand already encoded (node-command-bytes.ts). */
  answerEncoded(command: Uint8Array): Promise<NodeAnswer> {
    if (!this.up) return Promise.reject(this.unavailable("is down"));
    return new Promise((resolve, reject) => this.enqueue({ command, resolve, reject }));
  }

  /**
   * The same without a promise: the receiver (which carries the command) is told. A node that is
   * down rejects at once, before this returns. The SubmitOrders stream sends each order so.
   */
  send(pending: SentCommand): void {
    if (!this.up) pending.reject(this.unavailable("is down"));
    else this.enqueue(pending);
  }

  private enqueue(pending: SentCommand): void {
    this.queue.push(pending);
    if (this.queue.length >= BATCH_COMMANDS_MAX) this.flush();
    else this.scheduleFlush();
  }

  /** A partial batch waits for the end of this turn, and for a batch in flight to come back. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0 || this.batchesInFlight >= BATCHES_IN_FLIGHT_MAX) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.batchesInFlight < BATCHES_IN_FLIGHT_MAX) this.flush();
    });
  }

  streamTradeUpdates(accountId: string, signal: AbortSignal): AsyncIterable<TradeUpdate> {
    if (!this.up) throw this.unavailable("is down");
    const responses = this.nodeClient.streamTradeUpdates({ accountId }, { signal, timeoutMs: 0 });
    return (async function* () {
      for await (const response of responses) {
        if (response.update !== undefined) yield response.update;
      }
    })();
  }

  startHealthChecks(intervalMs: number): void {
    const check = async () => {
      try {
        const response = await this.healthClient.check({ service: "" }, { timeoutMs: Math.min(intervalMs, 1000) });
        this.setUp(response.status === HealthCheckResponse_ServingStatus.SERVING, `status ${response.status}`);
      } catch (error) {
        this.setUp(false, ConnectError.from(error).message);
      }
    };
    void check();
    this.healthTimer = setInterval(check, intervalMs);
  }

  close(): void {
    if (this.healthTimer !== null) clearInterval(this.healthTimer);
    this.executeClient.close();
    for (const pending of this.queue) pending.reject(this.unavailable("link closed"));
    this.queue = [];
  }

  private flush(): void {
    const batch = this.queue.splice(0, BATCH_COMMANDS_MAX);
    if (batch.length === 0) return;
    this.batchesInFlight += 1;
    this.batchesSent += 1;
    this.commandsSent += batch.length;
    const request = encodedExecuteRequest(batch.map((p) => p.command));
    const startedMs = performance.now();
    const answered = this.executeClient.callEncoded(request, this.callTimeoutMs).finally(() => {
      this.metrics.batchAnswered(batch.length, (performance.now() - startedMs) / 1000);
      this.batchesInFlight -= 1;
      this.scheduleFlush();
    });
    answered.then(
      (response) => {
        let answers: NodeAnswer[];
        try {
          answers = nodeAnswersOf(response);
        } catch (error) {
          for (const pending of batch) pending.reject(ConnectError.from(error));
          return;
        }
        if (answers.length !== batch.length) {
          const error = new ConnectError(`node ${this.endpoint.id} answered ${answers.length} of ${batch.length} commands`, Code.Internal);
          for (const pending of batch) pending.reject(error);
          return;
        }
        batch.forEach((pending, i) => pending.resolve(answers[i] as NodeAnswer));
      },
      (reason: unknown) => {
        const error = this.failure(reason);
        for (const pending of batch) pending.reject(error);
      },
    );
  }

  /**
   * A deadline stays a deadline: the node may have done the work, so the client must look
   * (or resubmit with the same client_order_id). UNAVAILABLE means the node is unreachable or
   * died under the call (the lean client's message says when the outcome is unknown): the link
   * goes down, and calls are refused at once until a health check finds the node serving.
   */
  private failure(reason: unknown): ConnectError {
    const error = ConnectError.from(reason);
    if (error.code === Code.DeadlineExceeded) {
      return new ConnectError(`node ${this.endpoint.id} did not answer in ${this.callTimeoutMs} ms; the outcome is unknown, check before retrying`, Code.DeadlineExceeded);
    }
    if (error.code === Code.Unavailable) {
      this.setUp(false, error.message);
      return this.unavailable(`is unreachable (${error.rawMessage})`);
    }
    return error;
  }

  private unavailable(why: string): ConnectError {
    return new ConnectError(`node ${this.endpoint.id} (shards ${this.endpoint.shards.join(",")}) ${why}`, Code.Unavailable);
  }

  private setUp(up: boolean, detail: string): void {
    if (up === this.up) return;
    this.up = up;
    this.metrics.up(up);
    this.logger[up ? "info" : "warn"](up ? "node up" : "node down", { node: this.endpoint.id, detail });
  }
}
