// The node benchmark's split of CPU by thread: the main thread's own work lands on it, and the
// text names the mock broker only when librdkafka threads exist.
import { expect, test } from "bun:test";
import { cpuPerOrderText, threadCpu } from "../../bench/lib/thread-cpu.ts";

test("work done on the main thread is counted as the main thread's", () => {
  const before = threadCpu();
  expect(before).not.toBeNull();
  // Spin until the main thread's own counter moves (a clock tick is 10 ms of CPU).
  let after = threadCpu();
  let spins = 0;
  while (after !== null && before !== null && after.mainS === before.mainS) {
    for (let i = 0; i < 1_000_000; i++) spins += i & 1;
    after = threadCpu();
  }
  expect(spins).toBeGreaterThan(0);
  expect(after!.mainS).toBeGreaterThan(before!.mainS);
  expect(after!.brokerS).toBe(before!.brokerS);
});

test("CPU per order is the difference over the orders, in µs, each group named", () => {
  const before = { mainS: 1, brokerS: 0, otherS: 2 };
  expect(cpuPerOrderText(before, { mainS: 2, brokerS: 0, otherS: 2.5 }, 100_000)).toBe("main thread 10.0 µs, other threads 5.0 µs");
  expect(cpuPerOrderText(before, { mainS: 2, brokerS: 0.02, otherS: 2 }, 100_000)).toBe("main thread 10.0 µs, Kafka mock broker 0.2 µs, other threads 0.0 µs");
  expect(cpuPerOrderText(null, before, 1)).toBeNull();
  expect(cpuPerOrderText(before, before, 0)).toBeNull();
});
