// Calls to a worker thread that answers each message with one result, in the order sent: the
// SQLite writer threads (log commits, snapshot saves, lease renewals), so that a write and its
// fsync do not stop the node's event loop. The worker's code is a string run from a Blob URL: a
// worker file would sit at a different path under `bun src/...` and in the compiled binary.

export type WorkerAnswer<T> = { ok: true; value: T } | { ok: false; error: string };

const urls = new Map<string, string>();

export class WorkerCalls<Request, Answer> {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (value: Answer) => void; reject: (error: Error) => void }[] = [];
  /** Settles after the last message sent has been answered. */
  private drained: Promise<unknown> = Promise.resolve();
  /** Set once the thread has failed: later calls are refused at once rather than never answered. */
  private failed: Error | null = null;
  private readonly failureListeners: ((error: Error) => void)[] = [];

  /** `what` names the thread in errors; source must answer every message with a WorkerAnswer. */
  constructor(what: string, source: string) {
    let url = urls.get(source);
    if (url === undefined) {
      url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
      urls.set(source, url);
    }
    this.worker = new Worker(url);
    this.worker.onmessage = (message: MessageEvent<WorkerAnswer<Answer>>) => {
      const next = this.waiting.shift();
      if (next === undefined) throw new Error(`${what}: an answer nobody waited for`);
      if (message.data.ok) next.resolve(message.data.value);
      else next.reject(new Error(message.data.error));
    };
    this.worker.onerror = (event) => {
      const error = new Error(`${what} thread failed: ${event.message}`);
      this.failed ??= error;
      for (const waiting of this.waiting.splice(0)) waiting.reject(error);
      for (const listener of this.failureListeners.splice(0)) listener(error);
    };
  }

  /**
   * Told once if the thread fails, for work handed to it other than by call (a shared feed):
   * at once if it has failed already.
   */
  onFailure(listener: (error: Error) => void): void {
    if (this.failed !== null) listener(this.failed);
    else this.failureListeners.push(listener);
  }

  /** Resolves with the worker's answer; the buffers in transfer move to it uncopied. */
  call(request: Request, transfer: ArrayBuffer[] = []): Promise<Answer> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const { promise, resolve, reject } = Promise.withResolvers<Answer>();
    try {
      this.worker.postMessage(request, transfer);
    } catch (cause) {
      // Not sent, so not waited for: the answers of later calls stay matched to their calls.
      return Promise.reject(cause);
    }
    this.waiting.push({ resolve, reject });
    this.drained = promise.catch(() => undefined);
    return promise;
  }

  /**
   * Waits for the answers to what was sent, sends closeRequest (the thread closes what it
   * holds open, e.g. its database connection) and waits for its answer, then stops the thread.
   */
  async close(closeRequest: Request): Promise<void> {
    await this.drained;
    await this.call(closeRequest).catch(() => undefined);
    this.worker.terminate();
  }
}
