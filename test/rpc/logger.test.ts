import { expect, test } from "bun:test";
import { createLogger, type LogLevel } from "../../src/rpc/logger.ts";

function capture(level: LogLevel) {
  const lines: string[] = [];
  const logger = createLogger({ level, writeLine: (line) => lines.push(line), nowMs: () => Date.UTC(2024, 0, 2, 3, 4, 5, 6) });
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test("each line is one JSON object with ts, level and msg first, ending in a newline", () => {
  const { logger, lines } = capture("debug");
  logger.info("order accepted", { orderId: "o-1" });
  expect(lines).toEqual(['{"ts":"2024-01-02T03:04:05.006Z","level":"info","msg":"order accepted","orderId":"o-1"}\n']);
});

test("lines below the minimum level are dropped", () => {
  const { logger, parsed } = capture("warn");
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  expect(parsed().map((line) => line["level"])).toEqual(["warn", "error"]);
});

test("bigint fields are written as decimal strings, beyond the range of a double", () => {
  const { logger, parsed } = capture("info");
  logger.info("fill", { cashCents: 12345678901234567890n });
  expect(parsed()[0]?.["cashCents"]).toBe("12345678901234567890");
});

test("child fields appear on every line and the call's own fields win", () => {
  const { logger, parsed } = capture("info");
  const node = logger.child({ node: "node-a", shard: 3 });
  node.info("one", { shard: 4 });
  node.child({ account: "acct-1" }).warn("two");
  expect(parsed()).toEqual([
    { ts: "2024-01-02T03:04:05.006Z", level: "info", msg: "one", node: "node-a", shard: 4 },
    { ts: "2024-01-02T03:04:05.006Z", level: "warn", msg: "two", node: "node-a", shard: 3, account: "acct-1" },
  ]);
});

test("a field named msg cannot replace the message, and an Error keeps its message", () => {
  const { logger, parsed } = capture("info");
  logger.error("write failed", { msg: "spoof", error: new Error("disk full") });
  const line = parsed()[0];
  expect(line?.["msg"]).toBe("write failed");
  expect((line?.["error"] as { message: string }).message).toBe("disk full");
});
