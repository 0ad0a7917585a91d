// A headless Chromium driven over the DevTools protocol with Bun's WebSocket: enough to open a
// page, wait for it to load and evaluate a promise in it. Debian's `chromium` package (CI
// installs it); a machine without it fails the test rather than skipping it.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CHROMIUM = "/usr/bin/chromium";
/** Chromium prints its DevTools address within a second or two; a loaded CI machine gets more. */
const LAUNCH_TIMEOUT_MS = 30_000;

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export interface BrowserPage {
  /** Evaluates an expression in the page, awaiting a promise, and returns its JSON value. */
  evaluate(expression: string): Promise<unknown>;
  /** What the page wrote to its console and the errors it reported (CORS refusals among them). */
  console(): string[];
}

export interface Chromium {
  open(url: string): Promise<BrowserPage>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "oms-chromium-"));
  const proc = Bun.spawn(
    [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
      "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  let endpoint: string;
  try {
    endpoint = await devToolsEndpoint(proc);
  } catch (error) {
    proc.kill(9);
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const cdp = await CdpConnection.open(endpoint);
  return {
    open: (url) => openPage(cdp, url),
    close: async () => {
      cdp.close();
      proc.kill(9);
      await proc.exited;
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function devToolsEndpoint(proc: Subprocess<"ignore", "ignore", "pipe">): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  const reader = proc.stderr.getReader();
  const timeout = setTimeout(() => void reader.cancel(), LAUNCH_TIMEOUT_MS);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`chromium (${CHROMIUM}) printed no DevTools address:\n${text}`);
      text += decoder.decode(value);
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (found?.[1] !== undefined) {
        // Keep draining stderr so that Chromium never blocks on a full pipe.
        void (async () => {
          while (!(await reader.read()).done);
        })().catch(() => undefined);
        return found[1];
      }
    }
  } finally {
    clearTimeout(timeout);
  }
}

class CdpConnection {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  readonly #listeners = new Set<(message: CdpMessage) => void>();

  private constructor(private readonly socket: WebSocket) {
    // A browser that dies fails the calls waiting on it instead of leaving them to the test's timeout.
    socket.addEventListener("close", () => {
      for (const pending of this.#pending.values()) pending.reject(new Error("cdp: the browser closed the connection"));
      this.#pending.clear();
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as CdpMessage;
      if (message.id === undefined) {
        for (const listener of this.#listeners) listener(message);
        return;
      }
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(`cdp: ${message.error.message}`));
      else pending?.resolve(message.result ?? {});
    });
  }

  static open(url: string): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener("open", () => resolve(new CdpConnection(socket)));
      socket.addEventListener("error", () => reject(new Error(`cdp: cannot connect to ${url}`)));
    });
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.socket.send(JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  on(listener: (message: CdpMessage) => void): void {
    this.#listeners.add(listener);
  }

  close(): void {
    this.socket.close();
  }
}

async function openPage(cdp: CdpConnection, url: string): Promise<BrowserPage> {
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  if (typeof sessionId !== "string") throw new Error("cdp: attachToTarget gave no session");
  const lines: string[] = [];
  let loaded: () => void = () => undefined;
  const load = new Promise<void>((resolve) => (loaded = resolve));
  cdp.on((message) => {
    if (message.sessionId !== sessionId) return;
    if (message.method === "Page.loadEventFired") loaded();
    if (message.method === "Runtime.consoleAPICalled") {
      const args = (message.params?.["args"] ?? []) as { value?: unknown; description?: string }[];
      lines.push(args.map((arg) => String(arg.value ?? arg.description ?? "")).join(" "));
    }
    if (message.method === "Runtime.exceptionThrown") lines.push(`exception: ${JSON.stringify(message.params?.["exceptionDetails"])}`);
    if (message.method === "Log.entryAdded") {
      const entry = message.params?.["entry"] as { level?: string; text?: string } | undefined;
      lines.push(`${entry?.level ?? "log"}: ${entry?.text ?? ""}`);
    }
  });
  await Promise.all(["Page.enable", "Runtime.enable", "Log.enable"].map((method) => cdp.send(method, {}, sessionId)));
  await cdp.send("Page.navigate", { url }, sessionId);
  await load;
  return {
    async evaluate(expression) {
      const result = await cdp.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
      const exception = result["exceptionDetails"] as { exception?: { description?: string }; text?: string } | undefined;
      if (exception !== undefined) throw new Error(`page: ${exception.exception?.description ?? exception.text ?? "exception"}`);
      return (result["result"] as { value?: unknown } | undefined)?.value;
    },
    console: () => [...lines],
  };
}
