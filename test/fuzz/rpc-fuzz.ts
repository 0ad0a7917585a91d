// The fuzz property over the balancer: for each generated case, send it (several streams at once
// where the case says so), read each answer in the caller's protocol, and hold it to the
// oracle; then check that no connection dropped unless by policy, that a refused call left the
// victim account exactly as it was, and, after the run, that the cluster still answers and its
// memory stayed within a bound.
import * as http2 from "node:http2";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import { callerHeaders } from "./request-headers.ts";
import { MalformedAnswer, readAnswer } from "./answer-shape.ts";
import { VICTIM_ACCOUNT, type FuzzCluster } from "./fuzz-cluster.ts";
import { buildCase, rpcCaseArbitrary, type RpcCase, type RpcCaseSpec } from "./rpc-cases.ts";
import { exchange, type WireAnswer } from "./wire-exchange.ts";
import { MESSAGE_BYTES_MAX } from "../../src/rpc/rpc-limits.ts";

export interface FuzzRunOptions {
  runs: number;
  seed: number;
  /** fast-check's replay path of a failure (printed with it), to rerun just that case. */
  path?: string;
  /** Bytes the process's heap may grow by over the run, after a full collection. */
  heapGrowthMaxBytes: number;
  /** The most the cluster's own processes may hold after the run, when they are separate. */
  serverRssMaxBytes?: number;
  /** Called every PROGRESS_EVERY cases, for long runs. */
  progress?: (casesDone: number) => void;
}

const PROGRESS_EVERY = 10_000;

export interface FuzzRunSummary {
  runs: number;
  codes: Map<string, number>;
  /** This process's heap growth over the run, after a full collection (in process: client, balancer and node). */
  heapGrowthBytes: number;
  rssBytes: number;
  /** The cluster's own processes' RSS after the run, when they are separate. */
  serverRssBytes: number | undefined;
}

/** One HTTP/2 session for the run; replaced only after a case that may end it by policy. */
export class SessionHolder {
  private current: http2.ClientHttp2Session | undefined;
  private droppedBy: string | undefined;

  constructor(private readonly baseUrl: string) {}

  get(): http2.ClientHttp2Session {
    if (this.current === undefined || this.current.closed || this.current.destroyed) {
      const session = http2.connect(this.baseUrl);
      session.on("error", () => undefined);
      // Only the current session's end counts: one the fuzzer closed itself may report its close late.
      const drop = (why: string) => {
        if (this.current === session) this.droppedBy ??= why;
      };
      session.on("goaway", (code) => drop(`GOAWAY ${code}`));
      session.on("close", () => drop("the connection closed"));
      this.current = session;
      this.droppedBy = undefined;
    }
    return this.current;
  }

  /** Why the session ended, if it did; the next get() opens a new one. */
  dropped(): string | undefined {
    return this.droppedBy;
  }

  forget(): void {
    const session = this.current;
    this.current = undefined;
    session?.close();
    this.droppedBy = undefined;
  }
}

/**
 * Whether the server closed an HTTP/1.1 connection that the last call left open: fetch reuses a
 * kept-alive connection for the next call, so a new connection accepted for it means the last one
 * was closed. Only calls in close succession count (the server closes idle ones after 5 s), and
 * the case before must not be one the server may end by policy.
 */
export class Http1Watch {
  private acceptedBefore = 0;
  private startedAtMs = 0;
  private last: { label: string; endedAtMs: number; mayClose: boolean } | undefined;

  constructor(private readonly accepted: () => number) {}

  /** Before an HTTP/1.1 case. */
  begin(): void {
    this.acceptedBefore = this.accepted();
    this.startedAtMs = performance.now();
  }

  /** After it: the previous case's connection had been dropped if this one needed a new one. */
  end(label: string, mayClose: boolean): string | undefined {
    const opened = this.accepted() - this.acceptedBefore;
    const previous = this.last;
    const now = performance.now();
    this.last = { label, endedAtMs: now, mayClose };
    if (previous === undefined || previous.mayClose || opened === 0) return undefined;
    // A gap this long may have let the server close the connection as idle, which is no drop.
    if (this.startedAtMs - previous.endedAtMs > HTTP1_SUCCESSION_MS) return undefined;
    return `the server closed the HTTP/1.1 connection after: ${previous.label}`;
  }
}

/** Calls this close together find the last one's connection still open (the server keeps idle ones 5 s). */
const HTTP1_SUCCESSION_MS = 2_000;

/** The victim's whole visible state: its account and every order, as the balancer answers them. */
export async function victimState(cluster: FuzzCluster): Promise<string> {
  const call = async (method: string, body: unknown) => {
    const response = await fetch(`${cluster.baseUrl}/oms.v1.${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...callerHeaders(cluster.key) },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`the victim's ${method} answered HTTP ${response.status}: ${text}`);
    return text;
  };
  const account = await call("AccountService/GetAccount", { accountId: VICTIM_ACCOUNT });
  const orders = await call("OrderService/ListOrders", { accountId: VICTIM_ACCOUNT, status: "ORDER_STATUS_FILTER_ALL" });
  const positions = await call("AccountService/ListPositions", { accountId: VICTIM_ACCOUNT });
  return `${account}\n${orders}\n${positions}`;
}

/** Checks one answer of a case; returns the code it carried ("reset" or "policy" where none). */
async function checkOne(cluster: FuzzCluster, fuzzCase: RpcCase, answer: WireAnswer | "reset", codes: Map<string, number>): Promise<string> {
  if (answer === "reset") {
    if (!fuzzCase.clientReset) throw new Error("the stream was reset with no reset asked for");
    return "reset";
  }
  if (fuzzCase.policyClose && answer.status === 431) return "policy";
  if (answer.status === 0 && answer.stillOpen) {
    if (!fuzzCase.allowed.has("open")) throw new Error("no answer, not even headers, and the call is no live stream");
    codes.set("open", (codes.get("open") ?? 0) + 1);
    return "open";
  }
  let read;
  try {
    read = readAnswer(fuzzCase.answerProtocol, fuzzCase.protocol.codec, fuzzCase.method.output, answer);
  } catch (error) {
    if (error instanceof MalformedAnswer) throw new Error(`malformed answer: ${error.message}`);
    throw error;
  }
  codes.set(read.code, (codes.get(read.code) ?? 0) + 1);
  if (!fuzzCase.allowed.has(read.code)) {
    throw new Error(`answered ${read.code} (${JSON.stringify(read.message)}), expected one of ${[...fuzzCase.allowed].join(", ")}`);
  }
  if (answer.status >= 500 && !(answer.status === 503 || (answer.status === 501 && read.code === "unimplemented") || (answer.status === 504 && read.code === "deadline_exceeded"))) {
    throw new Error(`HTTP ${answer.status} (${read.code}): no 5xx but unavailable`);
  }
  const answered = read.messages[0];
  if (fuzzCase.parityRequest !== undefined && read.code === "ok" && answered !== undefined) {
    const reference = await referenceAnswer(cluster, fuzzCase, fuzzCase.parityRequest);
    const got = toJsonString(fuzzCase.method.output, answered as never);
    if (reference !== undefined && got !== reference) throw new Error(`the answer differs from Connect JSON's for the same request:\n${got}\n${reference}`);
  }
  return read.code;
}

/** The answer of Connect JSON over HTTP/1.1 (the balancer's main path) to `request`, as protobuf-es writes it; undefined if refused. */
async function referenceAnswer(cluster: FuzzCluster, fuzzCase: RpcCase, request: string): Promise<string | undefined> {
  const response = await fetch(`${cluster.baseUrl}/${fuzzCase.method.parent.typeName}/${fuzzCase.method.name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...callerHeaders(cluster.key) },
    body: request,
  });
  const text = await response.text();
  if (response.status !== 200) return undefined;
  return toJsonString(fuzzCase.method.output, fromJsonString(fuzzCase.method.output, text) as never);
}

export async function runCase(cluster: FuzzCluster, sessions: SessionHolder, spec: RpcCaseSpec, codes: Map<string, number>, victim: { state: string }, http1?: Http1Watch): Promise<void> {
  const fuzzCase = buildCase(spec, { key: cluster.key });
  try {
    const watchHttp1 = fuzzCase.request.http === "1.1" && http1 !== undefined;
    if (watchHttp1) http1.begin();
    const sends = Array.from({ length: fuzzCase.streams }, () =>
      exchange(fuzzCase.request, () => sessions.get(), cluster.baseUrl).then(
        (answer) => checkOne(cluster, fuzzCase, answer, codes),
        (error: unknown) => {
          if (fuzzCase.policyClose) return "policy";
          throw error;
        },
      ),
    );
    const outcomes = await Promise.allSettled(sends);
    const failed = outcomes.find((outcome) => outcome.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const answeredCodes = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<string>).value);
    if (fuzzCase.request.http === "2") {
      // A moment for a GOAWAY or close the server sent after its answer to arrive.
      await Bun.sleep(0);
      const dropped = sessions.dropped();
      if (dropped !== undefined) {
        sessions.forget();
        if (!fuzzCase.policyClose) throw new Error(`the server dropped the HTTP/2 connection: ${dropped}`);
      }
    }
    if (fuzzCase.policyClose) sessions.forget();
    if (watchHttp1) {
      // A live stream the client hangs up on, over HTTP/1.1, can only end with its connection.
      // So can a refusal of a chunked body not read to its end: the server closes rather than drain a body of unknown length.
      const refusedChunked = fuzzCase.request.chunkBytes > 0 && answeredCodes.some((code) => code !== "ok");
      const mayClose = fuzzCase.policyClose || fuzzCase.request.body.length > MESSAGE_BYTES_MAX || fuzzCase.allowed.has("open") || refusedChunked;
      const dropped = http1.end(fuzzCase.label, mayClose);
      if (dropped !== undefined) throw new Error(dropped);
    }
    const broken = cluster.broken();
    if (broken !== undefined) throw new Error(`the cluster broke: ${broken}`);
    if (fuzzCase.touchesVictim) {
      const now = await victimState(cluster);
      if (now !== victim.state) throw new Error(`a refused call changed the victim account:\nbefore ${victim.state}\nafter  ${now}`);
    }
  } catch (error) {
    throw new Error(`${fuzzCase.label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function heapAfterCollection(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

export async function fuzzRpc(cluster: FuzzCluster, options: FuzzRunOptions): Promise<FuzzRunSummary> {
  const sessions = new SessionHolder(cluster.baseUrl);
  const codes = new Map<string, number>();
  const victim = { state: await victimState(cluster) };
  const heapBefore = heapAfterCollection();
  let done = 0;
  const http1 = cluster.http1Accepted === undefined ? undefined : new Http1Watch(cluster.http1Accepted);
  try {
    await fc.assert(
      fc.asyncProperty(rpcCaseArbitrary(), (spec) => {
        done += 1;
        if (done % PROGRESS_EVERY === 0) options.progress?.(done);
        return runCase(cluster, sessions, spec, codes, victim, http1);
      }),
      { numRuns: options.runs, seed: options.seed, ...(options.path === undefined ? {} : { path: options.path }), endOnFailure: false, verbose: 0 },
    );
  } finally {
    sessions.forget();
  }
  // The cluster still answers and the victim is as it was.
  const after = await victimState(cluster);
  if (after !== victim.state) throw new Error(`the victim account changed over the run:\nbefore ${victim.state}\nafter  ${after}`);
  const heapGrowthBytes = heapAfterCollection() - heapBefore;
  if (heapGrowthBytes > options.heapGrowthMaxBytes) throw new Error(`the heap grew by ${heapGrowthBytes} bytes over ${options.runs} cases (bound ${options.heapGrowthMaxBytes})`);
  const serverRssBytes = cluster.serverRssBytes?.();
  if (serverRssBytes !== undefined && options.serverRssMaxBytes !== undefined && serverRssBytes > options.serverRssMaxBytes) {
    throw new Error(`the cluster's processes hold ${serverRssBytes} bytes after ${options.runs} cases (bound ${options.serverRssMaxBytes})`);
  }
  return { runs: options.runs, codes, heapGrowthBytes, rssBytes: process.memoryUsage().rss, serverRssBytes };
}
