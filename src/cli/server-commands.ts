// The commands that start servers and tools: dev, node, balancer, dev-kafka, tail, project.
import { bearerOf } from "../auth/api-key.ts";
import { issueStoredKey } from "../auth/issue-stored-key.ts";
import { openKeyStore } from "../auth/open-key-store.ts";
import { accountIdProblem } from "../core/account-id.ts";
import { loadClusterConfig } from "../config/load-cluster-config.ts";
import { exitWithParent, stopThenExit } from "./child-process.ts";
import type { CheckedOption, CommandArgs, CommandSpec, OptionSpec } from "./command-spec.ts";
import { BROKERS_DEFAULT, runDevKafka } from "./dev-kafka.ts";
import { runDev } from "./dev.ts";
import { port, wholeNumber } from "./option-values.ts";
import { runProject } from "./project.ts";
import { startBalancer } from "./start-balancer.ts";
import { startNode } from "./start-node.ts";
import { runTail } from "./tail.ts";
import { UsageError } from "./usage-error.ts";

const CONFIG: OptionSpec = { name: "config", kind: "string", value: "FILE", help: "the cluster configuration (JSON; OMS_* variables override it; defaults without it)" };
const EXIT_WITH_PARENT: OptionSpec = { name: "exit-with-parent", kind: "boolean", help: "stop when stdin closes (oms dev starts its children so)" };

const portOption = (help: string): CheckedOption<number> => ({ name: "port", kind: "string", value: "N", help, check: port });
const countOption = (name: string, value: string, help: string, example: string): CheckedOption<number> => ({
  name,
  kind: "string",
  value,
  help,
  check: (flag, text) => wholeNumber(flag, text, 1, example),
});
const DEV_PORT = portOption("the balancer's port (default 8080, or balancer.port)");
const BALANCER_PORT = portOption("listen here instead of balancer.port");
const BROKERS = countOption("brokers", "N", `how many brokers (default ${BROKERS_DEFAULT})`, "3");
const PARTITIONS = countOption("partitions", "N", "its partitions: one per shard for the write-ahead log", "16");

const config = (args: CommandArgs) => loadClusterConfig(args.string("config"));

/** Stops the server cleanly on SIGINT or SIGTERM, then exits. */
function stopOnSignal(stop: () => Promise<void>): void {
  const onSignal = () => stopThenExit(stop);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

export const SERVER_COMMANDS: readonly CommandSpec[] = [
  {
    name: "dev",
    section: "server",
    summary: "the whole system on this machine: a balancer, two node processes, the simulated venue",
    synopsis: "[--port N] [--data-dir DIR] [--config FILE] [--kafka BROKERS] [--postgres URL]",
    details: [
      "State is kept under the data directory (SQLite files, unless --kafka and --postgres); started",
      "again on the same directory it comes back with every acknowledged change. One oms dev per",
      "data directory: a second one exits at once, naming the directory. Stop it with Ctrl-C.",
      "At start it prints an admin key and the key of a first account, demo, funded with $100,000",
      "(export the lines it prints as OMS_ADMIN_KEY and OMS_API_KEY); a restart prints the same keys.",
    ].join("\n"),
    options: [
      DEV_PORT,
      { name: "data-dir", kind: "string", value: "DIR", help: "where the nodes keep their state (default ./data, or dataDir)" },
      CONFIG,
      { name: "kafka", kind: "string", value: "BROKERS", help: "host:port,… of a Kafka-API cluster for the write-ahead log (see oms dev-kafka)" },
      { name: "postgres", kind: "string", value: "URL", help: "postgres:// URL for snapshots and shard claims (and the read model, with --kafka)" },
    ],
    run: async (args) => {
      const env = { ...process.env };
      const kafka = args.string("kafka");
      const postgres = args.string("postgres");
      if (kafka !== undefined) env.OMS_KAFKA_BROKERS = kafka;
      if (postgres !== undefined) env.OMS_POSTGRES_URL = postgres;
      const chosenPort = args.checked(DEV_PORT);
      const cluster = loadClusterConfig(args.string("config"), env);
      await runDev(cluster, { port: chosenPort ?? cluster.balancer.port, dataDir: args.string("data-dir") ?? cluster.dataDir });
      return "running";
    },
  },
  {
    name: "node",
    section: "server",
    summary: "one OMS node: the shards the configuration gives it, its log, snapshots and venue",
    synopsis: "--config FILE --node-id ID",
    options: [CONFIG, { name: "node-id", kind: "string", value: "ID", help: "which of the configuration's nodes this is (or OMS_NODE_ID)" }, EXIT_WITH_PARENT],
    run: async (args) => {
      const nodeId = args.string("node-id") ?? process.env.OMS_NODE_ID;
      if (nodeId === undefined) throw new UsageError("--node-id (or OMS_NODE_ID) is required", args.command);
      const running = await startNode(config(args), nodeId);
      stopOnSignal(running.stop);
      if (args.flag("exit-with-parent")) exitWithParent(running.stop);
      return "running";
    },
  },
  {
    name: "balancer",
    section: "server",
    summary: "the stateless public endpoint: routes each call to the node that owns its account",
    synopsis: "--config FILE [--port N]",
    options: [CONFIG, BALANCER_PORT],
    run: async (args) => {
      const running = await startBalancer(config(args), args.checked(BALANCER_PORT));
      stopOnSignal(running.stop);
      return "running";
    },
  },
  {
    name: "bootstrap-key",
    section: "server",
    summary: "issue an API key straight into the cluster's key store: the first admin key of a new cluster",
    synopsis: "--config FILE (--admin | --account ID) [--label TEXT]",
    details: [
      "Opens the key store the configuration names (Postgres at postgres.url, else api-keys.sqlite in",
      "dataDir) and prints ID:SECRET; the secret is shown only now. Every balancer knows the key within",
      "auth.keyPollMs. Later keys are easier to issue with oms admin issue-key and this admin key.",
    ].join("\n"),
    options: [
      CONFIG,
      { name: "admin", kind: "boolean", help: "an admin key" },
      { name: "account", kind: "string", value: "ID", help: "a key for this account instead" },
      { name: "label", kind: "string", value: "TEXT", help: "who holds the key" },
    ],
    run: async (args) => {
      const accountId = args.string("account");
      const admin = args.flag("admin");
      if ((accountId === undefined) === !admin) throw new UsageError("give one of --admin and --account", args.command);
      const problem = accountId === undefined ? null : accountIdProblem(accountId);
      if (problem !== null) throw new UsageError(`--account: ${problem.message.replace(/^account_id: /, "")}`, args.command);
      const store = await openKeyStore(config(args));
      try {
        const issued = await issueStoredKey(store, accountId === undefined ? { kind: "admin" } : { kind: "account", accountId }, args.string("label") ?? "oms bootstrap-key", Date.now());
        console.log(bearerOf(issued.record.keyId, issued.secret));
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  {
    name: "dev-kafka",
    section: "server",
    summary: "a Kafka-protocol broker in memory for development and tests (librdkafka's mock cluster)",
    synopsis: "[--brokers N] [--topic NAME --partitions N]",
    details: 'Prints "bootstrap servers: HOST:PORT,…" and runs until Ctrl-C; needs librdkafka1. Everything is lost when it stops.',
    options: [
      BROKERS,
      { name: "topic", kind: "string", value: "NAME", help: "a topic to create (with --partitions)" },
      PARTITIONS,
    ],
    run: async (args) => {
      const brokers = args.checked(BROKERS) ?? BROKERS_DEFAULT;
      const name = args.string("topic");
      const partitions = args.checked(PARTITIONS);
      if ((name === undefined) !== (partitions === undefined)) throw new UsageError("--topic and --partitions go together", args.command);
      if (name === "") throw new UsageError("--topic must not be empty", args.command);
      await runDevKafka({ brokers, topic: name === undefined || partitions === undefined ? undefined : { name, partitions } });
      return 0;
    },
  },
  {
    name: "tail",
    section: "server",
    summary: "print the write-ahead log's records as JSON lines, as any outside consumer can read them",
    synopsis: "[--config FILE] [--from-beginning] [--follow]",
    details: "Money is printed as exact decimal dollar strings. Reads the log on kafka.brokers.",
    options: [
      CONFIG,
      { name: "from-beginning", kind: "boolean", help: "start at each partition's first record (default: at its end)" },
      { name: "follow", kind: "boolean", help: "keep printing new records until Ctrl-C (default: stop at the end)" },
    ],
    run: async (args) => {
      await runTail({ config: args.string("config"), fromBeginning: args.flag("from-beginning"), follow: args.flag("follow") });
      return 0;
    },
  },
  {
    name: "project",
    section: "server",
    summary: "keep the SQL read model (accounts, orders, fills, positions) in Postgres, exactly once",
    synopsis: "--config FILE",
    details: "Reads the log on kafka.brokers and writes to postgres.url until Ctrl-C; safe to stop at any moment.",
    options: [CONFIG, EXIT_WITH_PARENT],
    run: async (args) => {
      // Under oms dev the projector stops with its parent; it is safe to stop at any moment,
      // since its rows and offsets commit together.
      if (args.flag("exit-with-parent")) {
        process.stdin.on("end", () => process.exit(0));
        process.stdin.resume();
      }
      await runProject({ config: args.string("config") });
      return 0;
    },
  },
];
