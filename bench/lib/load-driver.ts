// The parent's side of a load generator (bench/e2e-load.ts): one JSON request per line on its
// stdin, one JSON reply per line on its stdout, with a bound on how long a reply may take.
import type { LoadRequest } from "../e2e-load.ts";
import type { BenchProcess } from "./bench-processes.ts";

const REPLY_TIMEOUT_MS = 120_000;

export class LoadDriver {
  private readonly lines: AsyncIterator<string>;

  constructor(readonly child: BenchProcess) {
    this.lines = linesOf(child.proc.stdout);
  }

  async request(request: LoadRequest): Promise<Record<string, unknown>> {
    this.child.proc.stdin.write(`${JSON.stringify(request)}\n`);
    this.child.proc.stdin.flush();
    const { promise: timedOut, reject } = Promise.withResolvers<never>();
    const timer = setTimeout(
      () => reject(new Error(`load generator: no reply to ${request.op} within ${REPLY_TIMEOUT_MS} ms:\n${this.child.output()}`)),
      REPLY_TIMEOUT_MS,
    );
    try {
      const next = await Promise.race([this.lines.next(), timedOut]);
      if (next.done === true) throw new Error(`load generator exited:\n${this.child.output()}`);
      return JSON.parse(next.value) as Record<string, unknown>;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
}
