import { expect, test } from "bun:test";
import { HealthStatus, ServingStatus } from "../../src/rpc/health.ts";

test("an unset service has no status and watching it reports SERVICE_UNKNOWN first", async () => {
  const health = new HealthStatus();
  expect(health.get("oms.v1.OrderService")).toBeUndefined();
  const stop = new AbortController();
  const first = await health.watch("oms.v1.OrderService", stop.signal).next();
  stop.abort();
  expect(first.value).toBe(ServingStatus.SERVICE_UNKNOWN);
});

test("a watcher sees changes to its own service only, and none after abort", async () => {
  const health = new HealthStatus();
  health.set("a", ServingStatus.SERVING);
  const stop = new AbortController();
  const watch = health.watch("a", stop.signal);
  expect((await watch.next()).value).toBe(ServingStatus.SERVING);
  health.set("b", ServingStatus.NOT_SERVING);
  health.set("a", ServingStatus.NOT_SERVING);
  expect((await watch.next()).value).toBe(ServingStatus.NOT_SERVING);
  const ended = watch.next();
  stop.abort();
  expect((await ended).done).toBe(true);
});

test("changes made faster than the watcher reads collapse to the latest", async () => {
  const health = new HealthStatus();
  health.set("", ServingStatus.SERVING);
  const stop = new AbortController();
  const watch = health.watch("", stop.signal);
  expect((await watch.next()).value).toBe(ServingStatus.SERVING);
  health.set("", ServingStatus.NOT_SERVING);
  health.set("", ServingStatus.UNKNOWN);
  expect((await watch.next()).value).toBe(ServingStatus.UNKNOWN);
  stop.abort();
});

test("SERVICE_UNKNOWN cannot be set, since it means no status was set", () => {
  expect(() => new HealthStatus().set("", ServingStatus.SERVICE_UNKNOWN)).toThrow("SERVICE_UNKNOWN");
});
