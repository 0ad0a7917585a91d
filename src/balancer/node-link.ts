// The balancer's connection to one node: calls are gathered into batches, health is polled,
// and a node that is down is answered for at once with UNAVAILABLE instead of a hung call.
//
// A batch goes out at the end of the event-loop turn its first call arrived in, unless
// BATCHES_IN_FLIGHT_MAX batches are already with the node: then calls gather until one comes
// back. Bun's timers cannot hold a batch for less than ~1 ms, so the wait is the node's own
// answer time: batches are one call at low rates (nothing added to latency) and grow with the
// rate (one Execute, its HTTP/2 stream and its encoding shared by many orders).
//
// Admission: the commands waiting here and in flight to the node are bounded (queueCommandsMax),
// and so is how long they wait once the node is behind, by CoDel's rule (Nichols and Jacobson,
// "Controlling Queue Delay", 2012): when every batch sent for QUEUE_WAIT_INTERVAL_MS took
// commands that had waited over QUEUE_WAIT_TARGET_MS, new commands are refused while the oldest
// waiting one has waited that long. Past either bound a call is refused at once with
// RESOURCE_EXHAUSTED, having done nothing: overload costs the balancer a refusal instead of
// memory and the client a deadline, and what is admitted past capacity waits tens of
// milliseconds, not the seconds a full queue holds. A burst, or one stall of the node (a
// collector's pause, a slow fsync), drains without a refusal. Each
// command carries its caller's deadline: one that expires while it waits here is answered
// DEADLINE_EXCEEDED without being sent, and the time left goes with it to the node
// (ExecuteRequest.timeouts_ms), which refuses it the same way if it runs out before its turn.
// So DEADLINE_EXCEEDED from here always means nothing was done; a decided command is answered,
// however late.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
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
import { encodedExecuteRequest, executeRequestBytes, framedCommandBytes } from "./node-command-bytes.ts";
import type { TradeUpdate } from "../gen/oms/v1/trading_pb.ts";
import { CALL_TIMEOUT_MAX_MS, MESSAGE_BYTES_MAX } from "../rpc/rpc-limits.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

/** Matches the node's own bound on a batch. */
export const BATCH_COMMANDS_MAX = 4096;
/**
 * Two, so that the node decides one batch while the log makes the other durable. A full batch
 * goes out whatever is in flight: calls never queue behind this bound for more than a batch.
 */
export const BATCHES_IN_FLIGHT_MAX = 2;
/**
 * Commands waiting and in flight, by default: four full batches, two with the node and two
 * gathering. At the rates a node sustains (tens of thousands of orders a second) that is under
 * a second of work, short of any sane deadline; more would only wait to expire and hold memory
 * meanwhile.
 */
export const QUEUE_COMMANDS_MAX = 4 * BATCH_COMMANDS_MAX;
/** A command that waited here longer than this to be sent waited too long: far above a healthy wait (a node's round trip, ~1 ms). */
export const QUEUE_WAIT_TARGET_MS = 20;
/** How long every batch must have carried commands that waited too long before new ones are refused: longer than a stall. */
export const QUEUE_WAIT_INTERVAL_MS = 100;
/**
 * The most an ExecuteRequest may take: the node's message limit. A batch closes before it
 * would pass it, and a single command that cannot fit is refused alone.
 */
export const BATCH_BYTES_MAX = MESSAGE_BYTES_MAX;

export interface NodeLinkOptions {
  /** The bound on commands waiting and in flight; default QUEUE_COMMANDS_MAX. */
  readonly queueCommandsMax?: number;

  /** The balancer's monotonic clock, in ms; default performance.now. */
  readonly nowMs?: () => number;
}

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
  /** The caller's own timeout (connect-timeout-ms, grpc-timeout), or null for the balancer's callTimeoutMs. */
  readonly timeoutMs: number | null;
}


export class NodeLink {
  private readonly nodeClient: Client<typeof NodeService>;
  /**
   * Execute, the hot call, and the health check through lean Connect clients (connect-es's
   * client held the balancer's thread ~0.25 ms a check, over the main-thread bound); streams
   * through connect-es.
   */
  private readonly executeClient: LeanUnaryClient<typeof ExecuteRequestSchema, typeof ExecuteResponseSchema>;
  private readonly healthClient: LeanUnaryClient<typeof HealthCheckRequestSchema, typeof HealthCheckResponseSchema>;
  private queue: SentCommand[] = [];
  /**
   * When each queued command came, on the balancer's clock (nowMs), in queue order (no object
   * per order): its deadline counts from it, and its link_queue stage and the queue's age.
   */
  private queueArrivalsMs: number[] = [];
  /** The ExecuteRequest bytes the queue's commands take, framed (node-command-bytes.ts). */
  private queueBytes = 0;
  private flushScheduled = false;
  private batchesInFlight = 0;
  private commandsInFlight = 0;
  private readonly queueCommandsMax: number;
  /** Since when every batch sent took a command that had waited over QUEUE_WAIT_TARGET_MS, or null. */
  private waitAboveTargetSinceMs: number | null = null;
  private readonly nowMs: () => number;
  private batchesSent = 0;
  private commandsSent = 0;
  /** Execute batches the node has answered: a node answering them is alive, however slow its health check. */
  private batchesAnswered = 0;
  /** Until the first health check answers, calls are tried rather than refused. */
  private up = true;
  private healthTimer: ReturnType<typeof setInterval> | null = null;
  private readonly metrics: NodeLinkMetrics;

  constructor(
    readonly endpoint: NodeEndpoint,
    transport: Transport,
    private readonly logger: LinkLogger,
    private readonly callTimeoutMs: number,
    /** The secret and TLS of the lean clients; the transport carries its own (the same, from createNodeTransport). */
    hop: NodeHop = {},
    options: NodeLinkOptions = {},
  ) {
    this.queueCommandsMax = options.queueCommandsMax ?? QUEUE_COMMANDS_MAX;
    this.nowMs = options.nowMs ?? (() => performance.now());
    if (!Number.isInteger(this.queueCommandsMax) || this.queueCommandsMax < 1) throw new Error(`node link: queueCommandsMax must be a positive integer, got ${this.queueCommandsMax}`);
    this.nodeClient = createClient(NodeService, transport);
    this.executeClient = new LeanUnaryClient(endpoint.url, `/${NodeService.typeName}/${NodeService.method.execute.name}`, ExecuteRequestSchema, ExecuteResponseSchema, hop);
    this.healthClient = new LeanUnaryClient(endpoint.url, `/${Health.typeName}/${Health.method.check.name}`, HealthCheckRequestSchema, HealthCheckResponseSchema, hop);
    this.metrics = balancerMetrics.nodeLink(endpoint.id);
  }

  get healthy(): boolean {
    return this.up;
  }

  /** Batches and commands sent to the node so far: their ratio is the mean batch size. */
  get sent(): { batches: number; commands: number } {
    return { batches: this.batchesSent, commands: this.commandsSent };
  }

  /** Commands waiting here and in flight to the node: never above queueCommandsMax. */
  get queued(): number {
    return this.queue.length + this.commandsInFlight;
  }

  /** The node's answer still encoded: a binary client may get its bytes as they are. */
  answer(command: NodeCommand, timeoutMs: number | null = null): Promise<NodeAnswer> {
    return this.answerEncoded(toBinary(NodeCommandSchema, command), timeoutMs);
  }

  /** The same for a NodeCommand already encoded (node-command-bytes.ts). */
  answerEncoded(command: Uint8Array, timeoutMs: number | null = null): Promise<NodeAnswer> {
    return new Promise((resolve, reject) => this.send({ command, timeoutMs, resolve, reject }));
  }

  /**
   * The same without a promise: the receiver (which carries the command) is told. A refusal
   * (the node down, the queue full, the command too large) comes at once, before this returns.
   * The SubmitOrders stream sends each order so.
   */
  send(pending: SentCommand): void {
    const refusal = this.admissionRefusal(pending.command);
    if (refusal !== null) {
      pending.reject(refusal);
      return;
    }
    this.queue.push(pending);
    this.queueArrivalsMs.push(this.nowMs());
    this.queueBytes += framedCommandBytes(pending.command);
    if (this.queue.length >= BATCH_COMMANDS_MAX || this.queueBytes >= BATCH_BYTES_MAX) this.flush();
    this.scheduleFlush();
  }

  /**
   * Why this command is not taken, or null. RESOURCE_EXHAUSTED, not UNAVAILABLE, for a full
   * queue: UNAVAILABLE here says the node is unreachable (and gRPC clients retry it at once,
   * which would feed the overload); RESOURCE_EXHAUSTED says the cluster is busy, nothing was
   * done, and the client should back off, as it does for a rate limit.
   */
  private admissionRefusal(command: Uint8Array): ConnectError | null {
    if (!this.up) return this.unavailable("is down");
    if (this.queued >= this.queueCommandsMax) {
      this.metrics.refused("queue_full");
      return new ConnectError(`node ${this.endpoint.id} has ${this.queueCommandsMax} commands waiting or in flight, the most it takes; nothing was done, retry after a pause`, Code.ResourceExhausted);
    }
    const now = this.nowMs();
    const behindSinceMs = this.waitAboveTargetSinceMs;
    const waitedMs = this.queue.length === 0 ? 0 : now - (this.queueArrivalsMs[0] as number);
    if (behindSinceMs !== null && now - behindSinceMs >= QUEUE_WAIT_INTERVAL_MS && waitedMs > QUEUE_WAIT_TARGET_MS) {
      this.metrics.refused("queue_wait");
      return new ConnectError(`node ${this.endpoint.id} is behind: for ${Math.round(now - behindSinceMs)} ms its commands have waited over ${QUEUE_WAIT_TARGET_MS} ms to be sent (the oldest ${Math.round(waitedMs)} ms); nothing was done, retry after a pause`, Code.ResourceExhausted);
    }
    if (executeRequestBytes(framedCommandBytes(command), 1) > BATCH_BYTES_MAX) {
      this.metrics.refused("too_large");
      return new ConnectError(`command: ${command.length} bytes encoded, more than a batch to a node may hold (${BATCH_BYTES_MAX}); nothing was done`, Code.ResourceExhausted);
    }
    return null;
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

  /**
   * A health check that times out while the node answers Execute batches finds a busy node,
   * not a dead one, and leaves the link up: under overload, taking it down would refuse every
   * call UNAVAILABLE for an interval (seen in the e2e benchmark's overload runs). A refused connection, a
   * NOT_SERVING answer, or a timeout with no batch answered takes it down.
   */
  startHealthChecks(intervalMs: number): void {
    const check = async () => {
      const answeredBefore = this.batchesAnswered;
      try {
        const response = await this.healthClient.call(create(HealthCheckRequestSchema, { service: "" }), Math.min(intervalMs, 1000));
        this.setUp(response.status === HealthCheckResponse_ServingStatus.SERVING, `status ${response.status}`);
      } catch (error) {
        const failure = ConnectError.from(error);
        if (failure.code === Code.DeadlineExceeded && this.batchesAnswered > answeredBefore) return;
        this.setUp(false, failure.message);
      }
    };
    void check();
    this.healthTimer = setInterval(timedJobFn("health_check", () => void check()), intervalMs);
  }

  close(): void {
    if (this.healthTimer !== null) clearInterval(this.healthTimer);
    this.executeClient.close();
    this.healthClient.close();
    for (const pending of this.queue) pending.reject(this.unavailable("link closed"));
    this.queue = [];
    this.queueArrivalsMs = [];
    this.queueBytes = 0;
  }

  private flush(): void {
    const batch = this.nextBatch();
    const sent = batch.sent;
    if (sent.length > 0) {
      this.batchesInFlight += 1;
      this.commandsInFlight += sent.length;
    }
    // Told once the queue and the counts are right: a receiver may send again from inside reject.
    for (const late of batch.expired) {
      this.metrics.refused("deadline_expired");
      late.reject(new ConnectError("the operation timed out while it waited for the node; it was not sent, nothing was done", Code.DeadlineExceeded));
    }
    if (sent.length === 0) return;
    this.batchesSent += 1;
    this.commandsSent += sent.length;
    const request = encodedExecuteRequest(batch.commands, batch.timeoutsMs);
    const startedMs = performance.now();
    const stages = balancerMetrics.stages;
    const sentMs = this.nowMs();
    for (const arrivedMs of batch.arrivalsMs) stages.link_queue.observe((sentMs - arrivedMs) / 1000);
    const oldestWaitMs = sentMs - (batch.arrivalsMs[0] as number);
    if (oldestWaitMs <= QUEUE_WAIT_TARGET_MS) this.waitAboveTargetSinceMs = null;
    else this.waitAboveTargetSinceMs ??= sentMs;
    // A decided command is answered within the node's log ack timeout, which is below the
    // balancer's callTimeoutMs: the hop waits that long past the batch's latest deadline.
    const hopTimeoutMs = Math.min(CALL_TIMEOUT_MAX_MS, batch.latestTimeoutMs + this.callTimeoutMs);
    const answered = this.executeClient.callEncoded(request, hopTimeoutMs).finally(() => {
      this.metrics.batchAnswered(sent.length, (performance.now() - startedMs) / 1000);
      this.batchesInFlight -= 1;
      this.commandsInFlight -= sent.length;
      this.scheduleFlush();
    });
    answered.then(
      (response) => {
        stages.node_round_trip.observeMany((performance.now() - startedMs) / 1000, sent.length);
        this.batchesAnswered += 1;
        let answers: NodeAnswer[];
        try {
          answers = nodeAnswersOf(response);
        } catch (error) {
          for (const pending of sent) pending.reject(ConnectError.from(error));
          return;
        }
        if (answers.length !== sent.length) {
          const error = new ConnectError(`node ${this.endpoint.id} answered ${answers.length} of ${sent.length} commands`, Code.Internal);
          for (const pending of sent) pending.reject(error);
          return;
        }
        sent.forEach((pending, i) => pending.resolve(answers[i] as NodeAnswer));
      },
      (reason: unknown) => {
        const error = this.failure(reason, hopTimeoutMs);
        for (const pending of sent) pending.reject(error);
      },
    );
  }

  /**
   * The commands of the next batch, from the front of the queue: at most BATCH_COMMANDS_MAX,
   * and closed before its ExecuteRequest would pass BATCH_BYTES_MAX, so that no command's size
   * fails another's. A command whose deadline has passed is taken out with them (`expired`),
   * to be answered DEADLINE_EXCEEDED and not sent; the others carry the time they have left.
   */
  private nextBatch(): { sent: SentCommand[]; commands: Uint8Array[]; timeoutsMs: number[]; arrivalsMs: number[]; latestTimeoutMs: number; expired: SentCommand[] } {
    const now = this.nowMs();
    const sent: SentCommand[] = [];
    const arrivalsMs: number[] = [];
    const commands: Uint8Array[] = [];
    const timeoutsMs: number[] = [];
    const expired: SentCommand[] = [];
    let latestTimeoutMs = 0;
    let bytes = 0;
    let taken = 0;
    for (; taken < this.queue.length && commands.length < BATCH_COMMANDS_MAX; taken++) {
      const queued = this.queue[taken] as SentCommand;
      const commandBytes = framedCommandBytes(queued.command);
      const deadlineMs = (this.queueArrivalsMs[taken] as number) + (queued.timeoutMs ?? this.callTimeoutMs);
      const leftMs = Math.ceil(deadlineMs - now);
      if (leftMs <= 0) {
        this.queueBytes -= commandBytes;
        expired.push(queued);
        continue;
      }
      if (executeRequestBytes(bytes + commandBytes, commands.length + 1) > BATCH_BYTES_MAX) break;
      bytes += commandBytes;
      this.queueBytes -= commandBytes;
      sent.push(queued);
      arrivalsMs.push(this.queueArrivalsMs[taken] as number);
      commands.push(queued.command);
      timeoutsMs.push(leftMs);
      latestTimeoutMs = Math.max(latestTimeoutMs, leftMs);
    }
    this.queue.splice(0, taken);
    this.queueArrivalsMs.splice(0, taken);
    return { sent, commands, timeoutsMs, arrivalsMs, latestTimeoutMs, expired };
  }

  /**
   * The node not answering within the hop's timeout is UNAVAILABLE, not DEADLINE_EXCEEDED: the
   * node may have decided the commands, so the client must look (or resubmit with the same
   * client_order_id), and DEADLINE_EXCEEDED is kept for commands that were never decided.
   * UNAVAILABLE from the transport means the node is unreachable or died under the call (the
   * lean client's message says when the outcome is unknown): the link goes down, and calls are
   * refused at once until a health check finds the node serving.
   */
  private failure(reason: unknown, hopTimeoutMs: number): ConnectError {
    const error = ConnectError.from(reason);
    if (error.code === Code.DeadlineExceeded) {
      return new ConnectError(`node ${this.endpoint.id} did not answer in ${hopTimeoutMs} ms; the outcome is unknown, check before retrying`, Code.Unavailable);
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
