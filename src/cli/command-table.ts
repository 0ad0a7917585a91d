// Every command of the oms binary, in the order the help lists them.
import { ADMIN_COMMANDS } from "./admin-commands.ts";
import { CLIENT_COMMANDS } from "./client-commands.ts";
import type { CommandSpec } from "./command-spec.ts";
import { SERVER_COMMANDS } from "./server-commands.ts";

export const COMMANDS: readonly CommandSpec[] = [...SERVER_COMMANDS, ...CLIENT_COMMANDS, ...ADMIN_COMMANDS];
