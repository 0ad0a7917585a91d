// A command line the user got wrong: printed as "oms: <message>" with a pointer to the help,
// exit code 2, never a stack trace. Everything else that fails is exit code 1.
export class UsageError extends Error {
  /** The command whose help to point at ("order submit"), or "" for oms itself. */
  readonly command: string;

  constructor(message: string, command = "") {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** Exit codes: 0 done, 1 the command failed (a refusal, a server that is down), 2 a usage error. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
