import { reject, type Rejection } from "./rejection.ts";

/** Account ids are routing keys and log keys: short, and safe in a URL, a file name and a SQL literal. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function accountIdProblem(text: string): Rejection | null {
  if (text === "") return reject("invalid_argument", "account_id: is required");
  if (!ACCOUNT_ID_PATTERN.test(text)) return reject("invalid_argument", "account_id: must be 1 to 64 letters, digits, '-' or '_'");
  return null;
}
