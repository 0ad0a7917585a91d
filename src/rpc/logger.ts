// A structured logger: one JSON object per line, so that log shippers and `jq` can read it
// without a parser for a bespoke format. Levels below the minimum cost one comparison.

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  /** The lowest level written: a caller may skip building lines that would be dropped. */
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line; the child's own fields win on a clash. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  fields?: LogFields;
  /** Receives one complete line, newline included. Defaults to stderr. */
  writeLine?: (line: string) => void;
  /** The clock, passed in so that tests can pin the timestamp. */
  nowMs?: () => number;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function createLogger(options: LoggerOptions): Logger {
  const writeLine = options.writeLine ?? ((line: string) => void process.stderr.write(line));
  const nowMs = options.nowMs ?? Date.now;
  return loggerWith(LOG_LEVELS.indexOf(options.level), options.fields ?? {}, writeLine, nowMs);
}

function loggerWith(
  levelMinIndex: number,
  bound: LogFields,
  writeLine: (line: string) => void,
  nowMs: () => number,
): Logger {
  if (levelMinIndex < 0) throw new Error(`logger: level index ${levelMinIndex} is not a level`);
  const emit = (level: LogLevel, msg: string, fields: LogFields | undefined): void => {
    if (LOG_LEVELS.indexOf(level) < levelMinIndex) return;
    const line: Record<string, unknown> = { ts: new Date(nowMs()).toISOString(), level, msg };
    // A field named ts/level/msg must not hide the line's own; it is dropped instead.
    for (const [key, value] of Object.entries({ ...bound, ...fields })) {
      if (!Object.hasOwn(line, key)) line[key] = value;
    }
    writeLine(`${JSON.stringify(line, jsonSafe)}\n`);
  };
  return {
    level: LOG_LEVELS[levelMinIndex] as LogLevel,
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => loggerWith(levelMinIndex, { ...bound, ...fields }, writeLine, nowMs),
  };
}

// JSON.stringify throws on bigint and writes `{}` for an Error; money is bigint, so both
// would either crash the logger or lose the one detail that matters.
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
