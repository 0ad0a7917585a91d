// The help of oms, of a group of commands and of each command, written from the same specs
// the parser checks against.
import type { HelpTopic } from "./command-line.ts";
import { HELP_OPTION, VERSION_OPTION, type CommandSpec, type OptionSpec } from "./command-spec.ts";

const COLUMN_GAP = 2;
/** A longer name or option (--type market|limit|stop|stop_limit) puts its text on the next line. */
const FIRST_COLUMN_WIDTH_MAX = 28;

export function helpText(topic: HelpTopic, commands: readonly CommandSpec[]): string {
  switch (topic.kind) {
    case "oms":
      return omsHelp(commands);
    case "group":
      return groupHelp(topic.group, topic.commands);
    case "command":
      return commandHelp(topic.command);
  }
}

function omsHelp(commands: readonly CommandSpec[]): string {
  const listed = (section: CommandSpec["section"]) => table(commands.filter((c) => c.section === section).map((c) => [c.name, c.summary]));
  return [
    "oms: an order management system",
    "",
    "Usage: oms <command> [options]     (options may come before the command as well as after)",
    "",
    "Servers and tools:",
    listed("server"),
    "",
    "Client commands (print the server's answer as JSON):",
    listed("client"),
    "",
    "Options of oms itself:",
    optionTable([HELP_OPTION, VERSION_OPTION]),
    "",
    "'oms <command> --help' (or 'oms help <command>') shows a command's options. Every setting of",
    "the configuration file can also be given as an OMS_… environment variable (see README).",
    "Exit codes: 0 done, 1 the command failed, 2 a mistake in the command line.",
  ].join("\n");
}

function groupHelp(group: string, commands: readonly CommandSpec[]): string {
  return [
    `Usage: oms ${group} <command> [options]`,
    "",
    "Commands:",
    table(commands.map((c) => [c.name, c.summary])),
    "",
    `'oms ${group} <command> --help' shows a command's options.`,
  ].join("\n");
}

function commandHelp(command: CommandSpec): string {
  const lines = [`Usage: oms ${command.name} ${command.synopsis}`.trimEnd(), "", command.summary];
  if (command.details !== undefined) lines.push("", command.details);
  lines.push("", "Options:", optionTable([...command.options, HELP_OPTION]));
  return lines.join("\n");
}

function optionTable(options: readonly OptionSpec[]): string {
  return table(
    options.map((option) => {
      const long = `--${option.name}${option.value === undefined ? "" : ` ${option.value}`}`;
      return [option.short === undefined ? `    ${long}` : `-${option.short}, ${long}`, option.help];
    }),
  );
}

/** Two columns, the second aligned; a long first column pushes its text to the next line. */
function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.min(FIRST_COLUMN_WIDTH_MAX, Math.max(...rows.map(([left]) => left.length)));
  return rows
    .map(([left, right]) =>
      left.length > width ? `  ${left}\n  ${" ".repeat(width + COLUMN_GAP)}${right}` : `  ${left.padEnd(width + COLUMN_GAP)}${right}`,
    )
    .join("\n");
}
