// The standard grpc.health.v1.Health service, so that grpc_health_probe, Kubernetes and the
// balancer can ask a process whether it serves. The process owns a HealthStatus and sets it
// as it starts, recovers and drains; the service only reports it.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckResponse,
} from "../gen/grpc/health/v1/health_pb.ts";

export { ServingStatus };

/** The name that stands for the whole server, as the gRPC health protocol defines it. */
export const SERVER_HEALTH = "";

// A watcher that stops reading must not make set() block or grow memory: each watcher keeps
// only the latest status it has not yet sent, as the gRPC spec allows ("may skip updates").
interface Watcher {
  service: string;
  wake: () => void;
}

export class HealthStatus {
  readonly #statusByService = new Map<string, ServingStatus>();
  readonly #watchers = new Set<Watcher>();

  set(service: string, status: ServingStatus): void {
    if (status === ServingStatus.SERVICE_UNKNOWN) {
      throw new Error(`health: SERVICE_UNKNOWN is what unknown services report, not a status to set`);
    }
    if (this.#statusByService.get(service) === status) return;
    this.#statusByService.set(service, status);
    for (const watcher of this.#watchers) {
      if (watcher.service === service) watcher.wake();
    }
  }

  /** undefined for a service that was never set. */
  get(service: string): ServingStatus | undefined {
    return this.#statusByService.get(service);
  }

  /**
   * Yields the current status at once (SERVICE_UNKNOWN if unset), then every change until
   * the signal aborts. Changes made faster than the reader reads collapse to the latest.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    let changed = true;
    let resume: (() => void) | undefined;
    const watcher: Watcher = {
      service,
      wake: () => {
        changed = true;
        resume?.();
      },
    };
    const onAbort = (): void => resume?.();
    this.#watchers.add(watcher);
    signal.addEventListener("abort", onAbort);
    try {
      let sent: ServingStatus | undefined;
      while (!signal.aborted) {
        if (changed) {
          changed = false;
          const status = this.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (status !== sent) {
            sent = status;
            yield status;
            continue;
          }
        }
        await new Promise<void>((resolve) => (resume = resolve));
        resume = undefined;
      }
    } finally {
      this.#watchers.delete(watcher);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

function responseOf(status: ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}

export function registerHealth(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    check(request) {
      const status = health.get(request.service);
      if (status === undefined) {
        throw new ConnectError(`service "${request.service}" is not known to the health service`, Code.NotFound);
      }
      return responseOf(status);
    },
    async *watch(request, context) {
      for await (const status of health.watch(request.service, context.signal)) {
        yield responseOf(status);
      }
      // The loop ends only on abort. Ending the stream cleanly would tell the watcher that
      // the service has nothing more to say; a shutdown must read as UNAVAILABLE instead.
      throw ConnectError.from(context.signal.reason, Code.Unavailable);
    },
  });
}
