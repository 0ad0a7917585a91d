#!/usr/bin/env bun
// The one oms binary: servers (dev, node, balancer, …) and the client commands. Exit codes:
// 0 done, 1 the command failed, 2 a mistake in the command line (told as "oms: …", with the
// command's help named, never a stack trace or the argument parser's own words).
import { readCommandLine } from "./command-line.ts";
import { COMMANDS } from "./command-table.ts";
import { helpText } from "./help-text.ts";
import { EXIT_FAILED, EXIT_USAGE, UsageError } from "./usage-error.ts";
import { versionText } from "./version.ts";

async function main(argv: readonly string[]): Promise<number | "running"> {
  const line = readCommandLine(argv, COMMANDS);
  switch (line.kind) {
    case "help":
      console.log(helpText(line.topic, COMMANDS));
      return 0;
    case "version":
      console.log(versionText());
      return 0;
    case "run":
      return line.command.run(line.args);
  }
}

function failed(error: unknown): number {
  if (error instanceof UsageError) {
    const help = error.command === "" ? "oms --help" : `oms ${error.command} --help`;
    console.error(`oms: ${error.message}\n(see ${help})`);
    return EXIT_USAGE;
  }
  console.error(`oms: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_FAILED;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== "running") process.exit(code);
  },
  (error: unknown) => process.exit(failed(error)),
);
