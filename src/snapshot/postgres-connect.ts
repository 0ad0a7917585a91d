// Connects to Postgres at start, waiting for it to come up: in a fresh deployment the node and
// the database start together, and a node that crashed on the first refused connection would
// be restarted into the same failure over and over. Each failed attempt logs one line; after
// retryForMs the caller gets one clear Error and decides (the CLI exits once, with it).
// Every postgres.js option oms relies on is set here, in one place, rather than left to the
// library's defaults or to PG* environment variables; TLS is the url's sslmode, off without one.
import postgres from "postgres";
import { applyPostgresMigrations } from "./postgres-migrations.ts";

export interface PostgresLogger {
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** int8 columns come back as bigint: offsets, sequences and epochs exceed 2^53 in principle. */
const INT8_AS_BIGINT = {
  to: 20,
  from: [20],
  serialize: (value: bigint): string => value.toString(),
  parse: (raw: string): bigint => BigInt(raw),
};

export type PostgresSql = postgres.Sql<{ bigint: bigint }>;
export type PostgresTransaction = postgres.TransactionSql<{ bigint: bigint }>;

export interface ConnectPostgresOptions {
  logger: PostgresLogger;
  /** Keep retrying an unreachable server this long, then throw. 0 tries once. */
  retryForMs: number;
  /** One attempt's bound on reaching the server and finishing its handshake. */
  connectTimeoutMs: number;
  /** The pool's size: what one store needs, not a shared budget. */
  maxConnections: number;
  /** Shows in pg_stat_activity, so an operator can tell which part holds a connection. */
  applicationName: string;
  /**
   * Keep each connection for the process's life (no idle or lifetime recycling) and report its
   * close: for session-level advisory locks, which end with the session that took them.
   */
  session?: { onClose: () => void };
}

const RETRY_DELAY_MS_FIRST = 200;
const RETRY_DELAY_MS_MAX = 5_000;
const RETRY_FOR_MS_MAX = 3_600_000;
const CONNECT_TIMEOUT_MS_MAX = 300_000;
const MAX_CONNECTIONS_MAX = 64;
/** A statement (a claim's row lock included) that runs longer than this is a fault, not a wait. */
const STATEMENT_TIMEOUT_MS = 30_000;
const LOCK_TIMEOUT_MS = 10_000;
/** A session that dies mid-transaction must not hold a shard row locked for long. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_S = 60;
const MAX_LIFETIME_S = 30 * 60;
const KEEP_ALIVE_S = 30;
/** postgres.js waits this long (capped) before reconnecting after a failed connection. */
const RECONNECT_BACKOFF_S_MAX = 2;
const END_TIMEOUT_S = 5;

/**
 * A pool on which `select 1` has succeeded. Throws, after retryForMs of failed attempts, an
 * Error naming the server (never the password) and the last reason.
 */
export async function connectPostgres(url: string, options: ConnectPostgresOptions): Promise<PostgresSql> {
  checkOptions(options);
  const endpoint = endpointOf(url);
  const secret = passwordOf(url);
  const startedAtMs = performance.now();
  let delayMs = RETRY_DELAY_MS_FIRST;
  for (let attempt = 1; ; attempt++) {
    const sql = createPool(url, options);
    try {
      await probe(sql, options.connectTimeoutMs);
      if (attempt > 1) options.logger.info(`postgres reachable at ${endpoint} after ${attempt} attempts`);
      return sql;
    } catch (error) {
      await sql.end({ timeout: 0 });
      const reason = reasonOf(error, secret);
      const elapsedMs = performance.now() - startedAtMs;
      if (elapsedMs >= options.retryForMs) {
        throw new Error(
          `postgres unreachable at ${endpoint}: gave up after ${attempt} attempt${attempt === 1 ? "" : "s"} ` +
            `in ${seconds(elapsedMs)}: ${reason}`,
        );
      }
      const waitMs = Math.min(delayMs, options.retryForMs - elapsedMs);
      options.logger.warn(`postgres unreachable at ${endpoint}, retrying in ${seconds(waitMs)}: ${reason}`, { attempt });
      await Bun.sleep(waitMs);
      delayMs = Math.min(delayMs * 2, RETRY_DELAY_MS_MAX);
    }
  }
}

/**
 * `select 1` within timeoutMs. postgres.js alone may never answer: when something accepts the
 * connection and closes it without a word (a proxy with no server behind it), it reconnects
 * forever and the query waits on; ending the pool is what rejects it.
 */
async function probe(sql: PostgresSql, timeoutMs: number): Promise<void> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void sql.end({ timeout: 0 });
  }, timeoutMs);
  try {
    await sql`select 1`;
  } catch (error) {
    if (!timedOut) throw error;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) throw new Error(`no answer within ${seconds(timeoutMs)}`);
}

function createPool(url: string, options: ConnectPostgresOptions): PostgresSql {
  return postgres(url, {
    ssl: sslOf(url),
    max: options.maxConnections,
    connect_timeout: options.connectTimeoutMs / 1000,
    // 0 is "never" to postgres.js: a session kept for life is never recycled.
    idle_timeout: options.session === undefined ? IDLE_TIMEOUT_S : 0,
    max_lifetime: options.session === undefined ? MAX_LIFETIME_S : 0,
    ...(options.session === undefined ? {} : { onclose: options.session.onClose }),
    keep_alive: KEEP_ALIVE_S,
    backoff: (attempt: number) => Math.min(0.1 * 2 ** attempt, RECONNECT_BACKOFF_S_MAX),
    prepare: true,
    // No arrays or custom types are read, so the extra round trip at connect buys nothing.
    fetch_types: false,
    types: { bigint: INT8_AS_BIGINT },
    onnotice: (notice) => options.logger.info(`postgres notice: ${notice["message"] ?? "(no message)"}`, { code: notice["code"] }),
    debug: false,
    connection: {
      application_name: options.applicationName,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      lock_timeout: LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      TimeZone: "UTC",
    },
  });
}

export interface PostgresStoreOptions {
  /** Where retry lines and schema changes go; stderr when not given. */
  logger?: PostgresLogger;
  /** One connection attempt's bound; 5 s when not given. */
  connectTimeoutMs?: number;
  /** How long an unreachable server is retried at open; 30 s when not given. */
  retryForMs?: number;
}

export const POSTGRES_CONNECT_TIMEOUT_MS_DEFAULT = 5_000;
export const POSTGRES_RETRY_FOR_MS_DEFAULT = 30_000;

/** Plain lines on stderr, for callers that bring no logger of their own. */
export const stderrPostgresLogger: PostgresLogger = {
  info: (msg) => void process.stderr.write(`postgres: ${msg}\n`),
  warn: (msg) => void process.stderr.write(`postgres: ${msg}\n`),
  error: (msg) => void process.stderr.write(`postgres: ${msg}\n`),
};

/** Connects (retrying as options say) and brings the schema up to date. */
export async function openMigratedPostgres(
  url: string,
  options: PostgresStoreOptions,
  maxConnections: number,
  applicationName: string,
  session?: ConnectPostgresOptions["session"],
): Promise<PostgresSql> {
  const logger = options.logger ?? stderrPostgresLogger;
  const sql = await connectPostgres(url, {
    logger,
    retryForMs: options.retryForMs ?? POSTGRES_RETRY_FOR_MS_DEFAULT,
    connectTimeoutMs: options.connectTimeoutMs ?? POSTGRES_CONNECT_TIMEOUT_MS_DEFAULT,
    maxConnections,
    applicationName,
    ...(session === undefined ? {} : { session }),
  });
  try {
    await applyPostgresMigrations(sql, logger);
  } catch (error) {
    await endPostgres(sql);
    throw error;
  }
  return sql;
}

/** Closes a pool, letting running queries finish for a bounded time. */
export async function endPostgres(sql: PostgresSql): Promise<void> {
  await sql.end({ timeout: END_TIMEOUT_S });
}

function checkOptions(options: ConnectPostgresOptions): void {
  const bounded = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`postgres: ${name} must be from ${min} to ${max}, got ${value}`);
    }
  };
  bounded("retryForMs", options.retryForMs, 0, RETRY_FOR_MS_MAX);
  bounded("connectTimeoutMs", options.connectTimeoutMs, 1, CONNECT_TIMEOUT_MS_MAX);
  bounded("maxConnections", options.maxConnections, 1, MAX_CONNECTIONS_MAX);
}

type SslMode = "require" | "allow" | "prefer" | "verify-full" | false;

function sslOf(url: string): SslMode {
  const mode = new URL(url).searchParams.get("sslmode");
  switch (mode) {
    case null:
    case "disable":
      return false;
    case "require":
    case "allow":
    case "prefer":
    case "verify-full":
      return mode;
    default:
      throw new Error(`postgres: sslmode ${mode} is not one of disable, allow, prefer, require, verify-full`);
  }
}

/** host:port for messages; the url itself may carry a password, so it is never printed. */
function endpointOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("postgres: the url is not of the form postgres://user@host:port/database");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`postgres: the url must start with postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
  return `${parsed.hostname === "" ? "localhost" : parsed.hostname}:${parsed.port === "" ? "5432" : parsed.port}`;
}

function passwordOf(url: string): string {
  const password = new URL(url).password;
  try {
    return decodeURIComponent(password);
  } catch {
    return password;
  }
}

function reasonOf(error: unknown, secret: string): string {
  let reason: string;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    reason = error.message !== "" ? error.message : typeof code === "string" ? code : error.name;
  } else {
    reason = String(error);
  }
  // One line per attempt, whatever the driver put in its message.
  const line = reason.replaceAll(/\s*\n\s*/g, " ");
  return secret === "" ? line : line.replaceAll(secret, "***");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
