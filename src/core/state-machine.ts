// The domain state machine: decide() turns a command into events or a rejection without
// changing anything; apply() changes an account by one event. Both are pure functions of
// their inputs: no clock, no randomness, no I/O.
import type { Account } from "./account.ts";
import type { Command } from "./command.ts";
import type { Event } from "./event.ts";
import type { Rejection } from "./rejection.ts";

export type Decision =
  | { ok: true; events: Event[] }
  /** The same submit was accepted before (same client_order_id, same content). */
  | { ok: true; events: []; duplicateOf: string }
  | { ok: false; rejection: Rejection };
