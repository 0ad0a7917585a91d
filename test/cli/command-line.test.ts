// How the oms command line is read, in process: every command has help that lists exactly the
// options the parser takes, options go before or after the command, and every mistake is a
// UsageError whose message names the option and what it expects.
import { describe, expect, test } from "bun:test";
import { readCommandLine, type CommandLine } from "../../src/cli/command-line.ts";
import { COMMANDS } from "../../src/cli/command-table.ts";
import { helpText } from "../../src/cli/help-text.ts";
import { UsageError } from "../../src/cli/usage-error.ts";

const read = (...argv: string[]): CommandLine => readCommandLine(argv, COMMANDS);

function usageError(...argv: string[]): { message: string; command: string } {
  try {
    read(...argv);
  } catch (error) {
    if (error instanceof UsageError) return { message: error.message, command: error.command };
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

function ran(line: CommandLine): { command: string; option(name: string): string | undefined } {
  if (line.kind !== "run") throw new Error(`expected a command to run, got ${line.kind}`);
  return { command: line.command.name, option: (name) => line.args.string(name) };
}

describe("help", () => {
  test("every command has --help, -h and `oms help …`, and its help lists each option the parser takes", () => {
    expect(COMMANDS.length).toBeGreaterThanOrEqual(17);
    for (const command of COMMANDS) {
      const words = command.name.split(" ");
      for (const argv of [[...words, "--help"], [...words, "-h"], ["help", ...words], ["--help", ...words]]) {
        expect(read(...argv)).toEqual({ kind: "help", topic: { kind: "command", command } });
      }
      const text = helpText({ kind: "command", command }, COMMANDS);
      expect(text).toStartWith(`Usage: oms ${command.name}`);
      for (const option of command.options) expect(text).toContain(`--${option.name}`);
    }
  });

  test("oms --help lists every command; a group's help lists its commands", () => {
    expect(read("--help")).toEqual({ kind: "help", topic: { kind: "oms" } });
    expect(read("help")).toEqual({ kind: "help", topic: { kind: "oms" } });
    const text = helpText({ kind: "oms" }, COMMANDS);
    for (const command of COMMANDS) expect(text).toContain(`  ${command.name}  `);
    const order = read("order", "--help");
    expect(order.kind === "help" && order.topic.kind === "group" ? order.topic.commands.map((c) => c.name) : []).toEqual([
      "order submit",
      "order get",
      "order list",
      "order cancel",
      "order replace",
      "order stream",
    ]);
  });

  test("--version, before or after a command", () => {
    expect(read("--version")).toEqual({ kind: "version" });
    expect(read("order", "list", "--version")).toEqual({ kind: "version" });
  });
});

describe("options", () => {
  test("are taken before the command as well as after it, and as --name=value", () => {
    for (const argv of [
      ["--server", "http://h:1", "order", "list", "--account", "a"],
      ["order", "--server", "http://h:1", "list", "--account=a"],
      ["order", "list", "--account", "a", "--server=http://h:1"],
    ]) {
      const line = ran(read(...argv));
      expect([line.command, line.option("server"), line.option("account")]).toEqual(["order list", "http://h:1", "a"]);
    }
    const dev = ran(read("--config", "c.json", "dev", "--port", "0"));
    expect([dev.command, dev.option("config"), dev.option("port")]).toEqual(["dev", "c.json", "0"]);
  });

  test("a value that is not what the option takes is named with what it expects", () => {
    const submit = ["order", "submit", "--account", "a", "--symbol", "AAPL", "--side", "buy"];
    expect(usageError(...submit, "--qty", "abc")).toEqual({ message: "--qty: expected a whole number of shares like 10, got 'abc'", command: "order submit" });
    expect(usageError(...submit, "--qty", "1.5").message).toBe("--qty: expected a whole number of shares like 10, got '1.5'");
    expect(usageError(...submit, "--qty", "-5").message).toBe("--qty: expected a whole number of shares like 10, got '-5'");
    expect(usageError(...submit, "--qty", "1", "--limit", "1e3").message).toBe("--limit: expected a price in dollars like 189.25, got '1e3'");
    expect(usageError("order", "submit", "--side", "long").message).toBe("--side: expected one of buy, sell, got 'long'");
    expect(usageError("order", "submit", "--type", "trailing").message).toBe("--type: expected one of market, limit, stop, stop_limit, got 'trailing'");
    expect(usageError("order", "list", "--status", "BOGUS").message).toBe("--status: expected one of open, closed, all, got 'BOGUS'");
    expect(usageError("order", "list", "--page-size", "0").message).toBe("--page-size: expected a whole number from 1 like 100, got '0'");
    expect(usageError("admin", "deposit", "--amount", "10.001").message).toBe("--amount: expected an amount in dollars like 1000.00, got '10.001'");
    expect(usageError("order", "list", "--api-key", "kabc").message).toBe("--api-key: expected ID:SECRET, as oms dev or oms admin issue-key printed it, got 'kabc'");
    // The secret is not echoed back in the error.
    expect(usageError("order", "list", "--api-key", "kabc:  s3cret").message).not.toContain("s3cret");
    expect(usageError("dev", "--port", "65536").message).toBe("--port: expected a port number from 0 to 65535, got '65536'");
    expect(usageError("dev-kafka", "--brokers", "none").message).toBe("--brokers: expected a whole number from 1 like 3, got 'none'");
    expect(usageError("--server", "localhost:8080", "assets").message).toBe("--server: expected an http:// or https:// URL like http://127.0.0.1:8080, got 'localhost:8080'");
    expect(usageError("order", "submit", "--qty", "x".repeat(100)).message).toBe(`--qty: expected a whole number of shares like 10, got '${"x".repeat(40)}…'`);
  });

  test("every value is checked before anything is found missing", () => {
    expect(usageError("order", "submit", "--qty", "abc").message).toBe("--qty: expected a whole number of shares like 10, got 'abc'");
  });

  test("unknown, repeated, valueless and misplaced options are usage errors naming the command", () => {
    expect(usageError("order", "submit", "--quantity", "5")).toEqual({ message: "order submit has no option --quantity", command: "order submit" });
    expect(usageError("dev", "--server", "http://h:1")).toEqual({ message: "dev has no option --server", command: "dev" });
    expect(usageError("order", "get", "-x").message).toBe("order get has no option -x");
    expect(usageError("order", "get", "--id", "1", "--id", "2").message).toBe("--id is given twice");
    expect(usageError("order", "get", "--id").message).toBe("--id needs a value (ORDER_ID)");
    expect(usageError("order", "get", "--id", "--account", "a").message).toBe("--id needs a value (ORDER_ID)");
    expect(usageError("tail", "--follow=yes").message).toBe("--follow takes no value");
  });
});

describe("commands", () => {
  test("unknown commands, missing subcommands and extra words are usage errors", () => {
    expect(usageError("trade")).toEqual({ message: "unknown command 'trade'", command: "" });
    expect(usageError("order", "explode")).toEqual({ message: "unknown command 'order explode'", command: "order" });
    expect(usageError("order")).toEqual({ message: "oms order needs one of: submit, get, list, cancel, replace, stream", command: "order" });
    expect(usageError("assets", "AAPL")).toEqual({ message: "unexpected argument 'AAPL'", command: "assets" });
    expect(usageError("order", "list", "extra")).toEqual({ message: "unexpected argument 'extra'", command: "order list" });
    expect(usageError()).toEqual({ message: "a command is needed", command: "" });
  });
});
