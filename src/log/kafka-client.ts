// The kafkajs client of the Kafka event log: every option said at the call site (kafkajs's
// defaults were chosen for other workloads), kafkajs's own log lines sent to the node's logger,
// and the one decision the log makes about a kafkajs error: try again, or stop.
import { Kafka, logLevel, type LogEntry, type logCreator } from "kafkajs";

/** Where the log and kafkajs write what they have to say; the node's structured logger fits. */
export interface KafkaLogSink {
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: KafkaLogSink;
  /** A TCP connect that takes longer fails; with a broker down it fails at once (refused). */
  connectionTimeoutMs: number;
  /** A request with no response after this long fails (kafkajs then retries or gives up). */
  requestTimeoutMs: number;
}

/** The retries kafkajs makes inside one call (connecting, metadata, one produce); the event
 * log's own loop retries a batch without end above this, so these stay short. */
export const KAFKA_CALL_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2, multiplier: 2 } as const;

export function newKafkaClient(options: KafkaClientOptions): Kafka {
  if (options.brokers.length === 0) throw new Error("event log: kafka brokers: at least one host:port is needed");
  return new Kafka({
    brokers: options.brokers,
    clientId: options.clientId,
    // Plain TCP: the cluster configuration has no TLS or SASL settings yet.
    ssl: false,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: KAFKA_CALL_RETRY,
    // kafkajs at INFO logs every pause, seek and group join: replay would drown the node's log.
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(options.logger),
  });
}

function kafkaLogCreator(sink: KafkaLogSink): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const line = `kafkajs ${namespace}: ${message}`;
      if (level === logLevel.ERROR) sink.error(line, fields);
      else if (level === logLevel.WARN) sink.warn(line, fields);
      else sink.info(line, fields);
    };
}

/** What a kafkajs failure means for a batch that has to reach the log. */
export interface KafkaFailure {
  /** True if sending the same batch again may succeed (a broker down, a timeout, a leader
   * moving); false if it never will (record too large, not authorized, a bug). */
  retriable: boolean;
  /** The innermost error's Kafka type or name and message, for log lines and errors. */
  reason: string;
  /** The Kafka error type (UNKNOWN_TOPIC_OR_PARTITION, ...) anywhere in the chain, if any. */
  types: string[];
}

/** Errors that are bugs in the caller or in kafkajs, never the network's fault. */
const BUG_ERROR_NAMES = new Set(["TypeError", "RangeError", "ReferenceError", "SyntaxError"]);
/** Causes followed at most; a chain this long is a cycle or a bug. */
const CAUSE_CHAIN_MAX = 16;

export function classifyKafkaError(error: unknown): KafkaFailure {
  const chain: unknown[] = [];
  for (let current: unknown = error; current !== undefined && current !== null && chain.length < CAUSE_CHAIN_MAX; ) {
    chain.push(current);
    const next: unknown = typeof current === "object" && "cause" in current ? current.cause : undefined;
    if (next === current) break;
    current = next;
  }
  const root = chain[chain.length - 1];
  const types = chain.flatMap((link) => {
    const type = typeof link === "object" && link !== null && "type" in link ? link.type : undefined;
    return typeof type === "string" ? [type] : [];
  });
  const isBug = chain.some((link) => link instanceof Error && BUG_ERROR_NAMES.has(link.name));
  // kafkajs marks each error (and each Kafka error code) retriable or not; a wrapper such as
  // KafkaJSNumberOfRetriesExceeded says "not retriable" only because its own retries ran out,
  // so the innermost error decides.
  const rootRetriable = typeof root === "object" && root !== null && "retriable" in root ? root.retriable !== false : true;
  return { retriable: rootRetriable && !isBug, reason: describe(root), types };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const type = "type" in error && typeof error.type === "string" ? ` ${error.type}` : "";
  return `${error.name}${type}: ${error.message}`;
}
