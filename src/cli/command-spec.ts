// What a command of the oms binary is: its name, its options and what it runs. The parser
// (command-line.ts) and the help (help-text.ts) both read these, so the help lists exactly
// what the parser accepts.
import { UsageError } from "./usage-error.ts";

export interface OptionSpec {
  /** Without the dashes: "qty". */
  readonly name: string;
  readonly kind: "string" | "boolean";
  /** What the value is, shown in help after the option: "N", "URL". */
  readonly value?: string;
  readonly short?: string;
  readonly help: string;
  /**
   * Checks the value's shape (option-values.ts) as the command line is read, before the command
   * runs, so that every value given is checked before anything is found missing; returns the
   * value as the command uses it.
   */
  readonly check?: (flag: string, text: string) => unknown;
}

export type CheckedOption<T> = Omit<OptionSpec, "check"> & { readonly check: (flag: string, text: string) => T };

export interface CommandSpec {
  /** As typed after oms: "dev", "order submit". */
  readonly name: string;
  readonly section: "server" | "client";
  readonly summary: string;
  /** What follows `oms <name>` in the usage line. */
  readonly synopsis: string;
  /** More paragraphs for `oms <name> --help`. */
  readonly details?: string;
  readonly options: readonly OptionSpec[];
  /** The exit code, or "running" for a server that exits on a signal. */
  run(args: CommandArgs): Promise<number | "running">;
}

export const HELP_OPTION: OptionSpec = { name: "help", kind: "boolean", short: "h", help: "show this help" };
export const VERSION_OPTION: OptionSpec = { name: "version", kind: "boolean", help: "print the version of oms (and its commit, if known)" };

/** The options of a command as given, checked against its spec. */
export class CommandArgs {
  constructor(
    readonly command: string,
    private readonly values: ReadonlyMap<string, string | true>,
  ) {}

  string(name: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === "string" ? value : undefined;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw new UsageError(`--${name} is required`, this.command);
    return value;
  }

  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  /** The value as the option's check returns it (the parser has checked it already). */
  checked<T>(option: CheckedOption<T>): T | undefined {
    const text = this.string(option.name);
    return text === undefined ? undefined : checkValue(this.command, option, text);
  }
}

/** Runs an option's check, pointing at the command's help if the value is wrong. */
export function checkValue<T>(command: string, option: CheckedOption<T>, text: string): T {
  try {
    return option.check(option.name, text);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, command);
    throw error;
  }
}
