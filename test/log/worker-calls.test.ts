// A worker thread's answers stay matched to the calls that asked, and a failed thread refuses
// calls instead of leaving them unanswered (a store's close() waits for its calls).
import { expect, test } from "bun:test";
import { WorkerCalls } from "../../src/log/worker-calls.ts";

const ECHO = `self.onmessage = (message) => postMessage({ ok: true, value: message.data.n * 2 });`;
// Bun 1.4.5's expect().rejects never settles on a promise that a worker settles: caught by hand.
const outcome = <T>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: unknown) => ({ error: String(error) }));

test("answers come back to their own calls, also after a call whose message could not be sent", async () => {
  const calls = new WorkerCalls<{ n: unknown }, number>("echo", ECHO);
  const first = calls.call({ n: 1 });
  const unsendable = calls.call({ n: () => 0 });
  const third = calls.call({ n: 3 });
  expect(await outcome(unsendable)).toHaveProperty("error");
  expect(await outcome(first)).toEqual({ value: 2 });
  expect(await outcome(third)).toEqual({ value: 6 });
  await calls.close({ n: 0 });
});

test("a thread that failed rejects what it was asked and every later call", async () => {
  const calls = new WorkerCalls<{ n: number }, number>("broken", `throw new Error("cannot start");`);
  const asked = await outcome(calls.call({ n: 1 }));
  expect(asked).toHaveProperty("error");
  expect(String((asked as { error: string }).error)).toContain("broken thread failed");
  expect(await outcome(calls.call({ n: 2 }))).toEqual(asked);
  await calls.close({ n: 0 }); // does not wait for answers that will never come
});
