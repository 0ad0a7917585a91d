// Waiting for a process to serve: polls its grpc Health until SERVING (for a node, that is
// after recovery). Used by `oms dev` for its nodes, and by the tests and benchmarks that start
// processes of their own.
import { createClient } from "@connectrpc/connect";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { SERVER_HEALTH, ServingStatus } from "./health.ts";
import { createNodeSession, createNodeTransport } from "./transport.ts";

export interface WaitUntilServingOptions {
  /** How long to wait in all before giving up. */
  timeoutMs: number;
  /** The pause between two checks; 50 ms unless given. */
  pollMs?: number;
  /** How long one check may take; 1 s unless given. */
  callTimeoutMs?: number;
  /** Why the process behind the URL is gone (its exit code or signal), or null while it runs:
   * a process that exited will never serve, so the wait ends at once. */
  exitedBecause?: () => string | null;
}

/**
 * Resolves once the server at url reports SERVING. Throws "exited (…) before serving" when
 * exitedBecause says the process is gone, or "not SERVING after N ms (last answer)" when time
 * runs out; callers add whose process it was and what it wrote.
 */
export async function waitUntilServing(url: string, options: WaitUntilServingOptions): Promise<void> {
  // One session for every check: it reconnects by itself while the server is not listening yet.
  const session = createNodeSession(url);
  const health = createClient(Health, createNodeTransport(url, { session, timeoutMs: options.callTimeoutMs ?? 1_000 }));
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer yet";
  try {
    for (;;) {
      const exited = options.exitedBecause?.() ?? null;
      if (exited !== null) throw new Error(`exited (${exited}) before serving`);
      if (Date.now() > deadline) throw new Error(`not SERVING after ${options.timeoutMs} ms (${last})`);
      try {
        const { status } = await health.check({ service: SERVER_HEALTH });
        if (status === ServingStatus.SERVING) return;
        last = `status ${ServingStatus[status]}`;
      } catch (error) {
        // Not listening yet: a node is still recovering its shards.
        last = String(error);
      }
      await Bun.sleep(options.pollMs ?? 50);
    }
  } finally {
    session.abort();
  }
}
