// The figures a balancer exposes at /metrics: every public call by method and code (whichever
// path answered it: our own Connect unary and SubmitOrders paths and connect-es's routes all
// report to callEnded), its whole
// latency at the balancer, and per node link the Execute round trip and batch size per batch,
// and whether the link is up.
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Gauge, type Registry } from "prom-client";
import { BATCH_SIZE_BOUNDS, HotHistogram, LATENCY_SECONDS_BOUNDS, STAGE_SECONDS_BOUNDS, type HistogramCell } from "./hot-histogram.ts";
import { HotCounter } from "./hot-counter.ts";
import { registerHot } from "./hot-metric.ts";
import { processRegistry } from "./process-metrics.ts";

/** What a node link reports, once per Execute batch and on each change of health. */
export interface NodeLinkMetrics {
  batchAnswered(commands: number, seconds: number): void;
  up(isUp: boolean): void;
  /** A command refused by the link without reaching the node: why (admission control, or its deadline passed while it waited). */
  refused(reason: NodeLinkRefusal): void;
}

/**
 * The stages of a unary call's way through the balancer, in order: route (its request's
 * headers in → its command handed to the node's link: body, key, decode, checks; for an order of
 * a SubmitOrders stream, from when the stream takes it up), link_queue
 * (waiting at the link for its batch to go), node_round_trip (its Execute batch out → the
 * node's answer back: the node's stages and the wire both ways), answer (the answer back →
 * the response written; on a stream, after the account's earlier answers).
 */
export const BALANCER_STAGES = ["route", "link_queue", "node_round_trip", "answer"] as const;
export const BALANCER_STAGE_FAMILY = "oms_balancer_stage_seconds";
export type BalancerStage = (typeof BALANCER_STAGES)[number];

/** Why a node link refused a command itself; nothing was done for it. */
export type NodeLinkRefusal = "queue_full" | "queue_wait" | "too_large" | "deadline_expired";

// The label of every Connect code, computed once: codeToString per call would build a string.
const CODE_LABELS = new Map<Code, string>(
  Object.values(Code)
    .filter((code): code is Code => typeof code === "number")
    .map((code) => [code, codeToString(code)]),
);

export class BalancerMetrics {
  private readonly calls = new HotCounter("oms_balancer_requests_total", "Public calls answered by the balancer, by method and code (ok, or the Connect code of the refusal).", ["method", "code"]);
  private readonly callSeconds = new HotHistogram("oms_balancer_request_duration_seconds", "A public call's whole time at the balancer, from its request to its answer (a stream: to its end).", LATENCY_SECONDS_BOUNDS, "method");
  private readonly callCells = new Map<string, HistogramCell>();
  private readonly executeSeconds = new HotHistogram("oms_balancer_node_execute_duration_seconds", "One Execute batch's round trip to a node.", LATENCY_SECONDS_BOUNDS, "node");
  private readonly batchCommands = new HotHistogram("oms_balancer_node_batch_commands", "Commands per Execute batch sent to a node.", BATCH_SIZE_BOUNDS, "node");
  private readonly connectionsClosed = new HotCounter("oms_balancer_connections_closed_total", "Connections the public port closed by a limit: connections_max (refused on arrival), headers_timeout, idle_timeout.", ["reason"]);
  private openConnections: () => number = () => 0;
  private readonly connectionsOpen: Gauge = new Gauge({
    name: "oms_balancer_connections_open",
    help: "Connections open on the public port now (its cap is balancer.connectionsMax).",
    registers: [],
    collect: () => this.connectionsOpen.set(this.openConnections()),
  });
  private readonly linkRefusals = new HotCounter("oms_balancer_node_commands_refused_total", "Commands a node link refused without sending them, by node and reason: queue_full and queue_wait (admission control: too many waiting, or the oldest waited too long; answered resource_exhausted), too_large (resource_exhausted), deadline_expired (the caller's deadline passed while it waited; deadline_exceeded).", ["node", "reason"]);
  private readonly stageSeconds = new HotHistogram(BALANCER_STAGE_FAMILY, "A unary call's or a SubmitOrders stream's order's time at the balancer by stage (route, link_queue, node_round_trip, answer): its share of the latency budget.", STAGE_SECONDS_BOUNDS, "stage");
  /** A cell per stage, kept so that the hot path does no lookup. */
  readonly stages: Readonly<Record<BalancerStage, HistogramCell>> = Object.fromEntries(BALANCER_STAGES.map((stage) => [stage, this.stageSeconds.cell(stage)])) as Record<BalancerStage, HistogramCell>;
  private readonly linkUp = new Gauge({ name: "oms_balancer_node_up", help: "1 while the balancer's link to the node is up, else 0.", labelNames: ["node"], registers: [] });
  private registryOnce: Registry | null = null;

  /**
   * One public call answered: method is its procedure ("oms.v1.OrderService/SubmitOrder"),
   * only ever one the balancer serves; code null for success.
   */
  callEnded(method: string, code: Code | null, seconds: number): void {
    this.calls.inc(method, code === null ? "ok" : (CODE_LABELS.get(code) ?? "unknown"));
    let cell = this.callCells.get(method);
    if (cell === undefined) {
      cell = this.callSeconds.cell(method);
      this.callCells.set(method, cell);
    }
    cell.observe(seconds);
  }

  /** How many calls were counted so far with this method and code label (for tests). */
  callCount(method: string, code: string): number {
    return this.calls.countOf(method, code);
  }

  /** The clock call latency is measured with: monotonic, in ms. */
  now(): number {
    return performance.now();
  }

  /** Where the open-connections gauge reads its figure at scrape time: the public port. */
  countOpenConnections(source: () => number): void {
    this.openConnections = source;
  }

  /** A connection closed by one of the port's limits (rpc/connection-limits.ts). */
  connectionClosed(reason: string): void {
    this.connectionsClosed.inc(reason);
  }

  /** How many commands a node link refused for this reason so far (for tests). */
  refusedCount(nodeId: string, reason: NodeLinkRefusal): number {
    return this.linkRefusals.countOf(nodeId, reason);
  }

  nodeLink(nodeId: string): NodeLinkMetrics {
    const refusals = this.linkRefusals;
    const seconds = this.executeSeconds.cell(nodeId);
    const commands = this.batchCommands.cell(nodeId);
    const up = this.linkUp;
    up.set({ node: nodeId }, 1);
    return {
      batchAnswered(count, took) {
        seconds.observe(took);
        commands.observe(count);
      },
      up: (isUp) => up.set({ node: nodeId }, isUp ? 1 : 0),
      refused: (reason) => refusals.inc(nodeId, reason),
    };
  }

  /** The balancer process's registry: its own figures and the process's, made on first use. */
  registry(): Registry {
    if (this.registryOnce !== null) return this.registryOnce;
    const registry = processRegistry();
    for (const hot of [this.calls, this.callSeconds, this.executeSeconds, this.batchCommands, this.connectionsClosed, this.linkRefusals, this.stageSeconds]) registerHot(registry, hot);
    registry.registerMetric(this.linkUp);
    registry.registerMetric(this.connectionsOpen);
    this.registryOnce = registry;
    return registry;
  }
}

/** The one BalancerMetrics of this process. */
export const balancerMetrics = new BalancerMetrics();
/** The public edge's hook: call edgeMetrics.callEnded(method, code, seconds) where a call is answered. */
export const edgeMetrics: Pick<BalancerMetrics, "callEnded" | "now" | "stages"> = balancerMetrics;
