// Reads an oms command line: the command (one or two words), then its options, which may come
// before the command as well as after it (`oms --server URL order list …`). node:util's
// parseArgs splits the words (--name=value, -h, --); which options a command takes, and every
// message about a mistake, are ours: "oms: --qty: expected …", never the parser's own text.
import { parseArgs } from "node:util";
import { HELP_OPTION, VERSION_OPTION, CommandArgs, checkValue, type CommandSpec, type OptionSpec } from "./command-spec.ts";
import { shown } from "./option-values.ts";
import { UsageError } from "./usage-error.ts";

export type CommandLine =
  | { kind: "help"; topic: HelpTopic }
  | { kind: "version" }
  | { kind: "run"; command: CommandSpec; args: CommandArgs };

/** What `--help` was asked about: oms itself, a group of commands ("order"), or one command. */
export type HelpTopic = { kind: "oms" } | { kind: "group"; group: string; commands: readonly CommandSpec[] } | { kind: "command"; command: CommandSpec };

type Token = ReturnType<typeof parseArgs>["tokens"] extends (infer T)[] | undefined ? T : never;

export function readCommandLine(argv: readonly string[], commands: readonly CommandSpec[]): CommandLine {
  const { tokens } = parseArgs({ args: [...argv], options: parserOptions(commands), strict: false, allowPositionals: true, tokens: true });
  const words = tokens.flatMap((token) => (token.kind === "positional" ? [token.value] : []));
  const asked = (name: string) => tokens.some((token) => token.kind === "option" && token.name === name);
  if (words[0] === "help") return { kind: "help", topic: topicOf(words.slice(1), commands) };
  if (asked(HELP_OPTION.name)) return { kind: "help", topic: topicOf(words, commands) };
  if (asked(VERSION_OPTION.name)) return { kind: "version" };
  const { topic, extra } = commandOf(words, commands);
  if (topic.kind === "oms") throw new UsageError("a command is needed");
  if (topic.kind === "group") {
    const names = topic.commands.map((command) => command.name.slice(topic.group.length + 1));
    throw new UsageError(`oms ${topic.group} needs one of: ${names.join(", ")}`, topic.group);
  }
  const { command } = topic;
  // Options first: an unknown option's value reads as a word, and the option is the mistake.
  const values = optionValues(command, tokens);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${shown(extra)}`, command.name);
  return { kind: "run", command, args: new CommandArgs(command.name, values) };
}

/** The command the words name; a word too many is a usage error. */
function topicOf(words: readonly string[], commands: readonly CommandSpec[]): HelpTopic {
  const { topic, extra } = commandOf(words, commands);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${shown(extra)}`, topic.kind === "command" ? topic.command.name : "");
  return topic;
}

/** Every option of every command, so that a value is taken as a value wherever it stands. */
function parserOptions(commands: readonly CommandSpec[]): Record<string, { type: "string" | "boolean"; short?: string }> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const option of [HELP_OPTION, VERSION_OPTION, ...commands.flatMap((command) => command.options)]) {
    options[option.name] = option.short === undefined ? { type: option.kind } : { type: option.kind, short: option.short };
  }
  return options;
}

/** The command the first words name (one that names nothing is a usage error), and the first word after it. */
function commandOf(words: readonly string[], commands: readonly CommandSpec[]): { topic: HelpTopic; extra: string | undefined } {
  const [first, second, third] = words;
  if (first === undefined) return { topic: { kind: "oms" }, extra: undefined };
  const single = commands.find((command) => command.name === first);
  if (single !== undefined) return { topic: { kind: "command", command: single }, extra: second };
  const group = commands.filter((command) => command.name.startsWith(`${first} `));
  if (group.length === 0) throw new UsageError(`unknown command ${shown(first)}`);
  if (second === undefined) return { topic: { kind: "group", group: first, commands: group }, extra: undefined };
  const command = group.find((candidate) => candidate.name === `${first} ${second}`);
  if (command === undefined) throw new UsageError(`unknown command ${shown(`${first} ${second}`)}`, first);
  return { topic: { kind: "command", command }, extra: third };
}

function optionValues(command: CommandSpec, tokens: readonly Token[]): Map<string, string | true> {
  const values = new Map<string, string | true>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec: OptionSpec | undefined = command.options.find((option) => option.name === token.name);
    if (spec === undefined) throw new UsageError(`${command.name} has no option ${token.rawName}`, command.name);
    if (values.has(spec.name)) throw new UsageError(`--${spec.name} is given twice`, command.name);
    if (spec.kind === "boolean") {
      if (token.inlineValue === true) throw new UsageError(`--${spec.name} takes no value`, command.name);
      values.set(spec.name, true);
      continue;
    }
    // parseArgs takes the next word as the value even when it is the next option.
    const value = token.value;
    if (value === undefined || (token.inlineValue !== true && value.startsWith("--"))) {
      throw new UsageError(`--${spec.name} needs a value (${spec.value ?? "a value"})`, command.name);
    }
    const { check } = spec;
    if (check !== undefined) checkValue(command.name, { ...spec, check }, value);
    values.set(spec.name, value);
  }
  return values;
}
