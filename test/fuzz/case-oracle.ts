// What a fuzz case's answer may be, from the faults found while the case is built: each sure
// fault names the codes it may be refused with (the answer carries one of them: the first check
// to fail wins); a case with none may also succeed. Server faults' codes (internal, unknown,
// data_loss) are never allowed unless a fault's protocol prescribes one.
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

const c = (code: Code) => codeToString(code);
const FATAL = new Set([Code.Internal, Code.Unknown, Code.DataLoss].map(c));
const ALL_CODES = Object.values(Code).filter((value): value is Code => typeof value === "number" && value !== Code.Canceled).map(c);

export class CaseOracle {
  readonly faults: string[] = [];
  private readonly refusals: Code[][] = [];
  /** Faults of the message and its envelopes: they count only if a body is sent. */
  private readonly bodyFaults: [string, Code[]][] = [];
  /** Codes a path may rightly answer without the case being surely refused. */
  private readonly maybes: Code[] = [];
  /** The client asked for a deadline too short to meet: DEADLINE_EXCEEDED is then a right answer. */
  tinyTimeout = false;

  /** @param messageSent false when no envelope carries the message, whose own faults then never reach the server. */
  constructor(private readonly messageSent: boolean) {}

  fault(name: string, ...codes: Code[]): void {
    this.faults.push(name);
    this.refusals.push(codes);
  }

  bodyFault(name: string, ...codes: Code[]): void {
    this.bodyFaults.push([name, codes]);
  }

  messageFault(name: string, ...codes: Code[]): void {
    if (this.messageSent) this.bodyFault(name, ...codes);
  }

  maybe(code: Code): void {
    this.maybes.push(code);
  }

  /** The body went out: its faults are the case's. */
  bodySent(): void {
    for (const [name, codes] of this.bodyFaults) this.fault(name, ...codes);
  }

  get sure(): boolean {
    return this.refusals.length > 0;
  }

  /** The codes the answer may carry; "open" too for a live stream the client may hang up on. */
  allowed(mayStayOpen: boolean): Set<string> {
    const allowed = new Set<string>(this.sure ? this.refusals.flat().map(c) : [...ALL_CODES, "ok"]);
    for (const code of this.maybes) allowed.add(c(code));
    if (this.tinyTimeout) allowed.add(c(Code.DeadlineExceeded));
    else allowed.delete(c(Code.DeadlineExceeded));
    // Service can always be unavailable (a node restarting) without the input being at fault.
    allowed.add(c(Code.Unavailable));
    if (mayStayOpen && !this.sure) allowed.add("open");
    const prescribed = new Set(this.refusals.flat().map(c));
    for (const fatal of FATAL) if (!prescribed.has(fatal)) allowed.delete(fatal);
    return allowed;
  }
}
