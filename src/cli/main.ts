#!/usr/bin/env bun
// The one oms binary: `oms dev`, `oms node`, `oms balancer`, and the client commands.
import { parseArgs } from "node:util";
import { loadClusterConfig } from "../config/load-cluster-config.ts";
import { exitWithParent, stopThenExit } from "./child-process.ts";
import { CLIENT_USAGE, runClientCommand } from "./client-commands.ts";
import { runDevKafka } from "./dev-kafka.ts";
import { runProject } from "./project.ts";
import { runTail } from "./tail.ts";
import { runDev } from "./dev.ts";
import { startBalancer } from "./start-balancer.ts";
import { startNode } from "./start-node.ts";

const USAGE = `oms: an order management system

  oms dev [--port 8080] [--data-dir ./data] [--config FILE] [--kafka BROKERS] [--postgres URL]
      balancer, two node processes and the simulated venue; embedded storage (SQLite) unless
      --kafka (the write-ahead log on Kafka/Redpanda) and --postgres (snapshots, shard claims)
  oms dev-kafka [--brokers 3] [--topic oms.wal --partitions 16]
      a Kafka-protocol mock cluster (librdkafka's) for development and tests
  oms tail [--config FILE] [--from-beginning] [--follow]
      print the write-ahead log's records as JSON lines, as any outside consumer can
  oms project --config FILE
      keep the SQL read model (accounts, orders, fills, positions) in Postgres, exactly once
  oms node --config FILE --node-id ID
  oms balancer --config FILE [--port N]

${CLIENT_USAGE}

Every configuration setting can also be given as an OMS_… environment variable (see README).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "dev": {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: "string" }, "data-dir": { type: "string" }, config: { type: "string" }, kafka: { type: "string" }, postgres: { type: "string" } },
      });
      const env = { ...process.env };
      if (values.kafka !== undefined) env.OMS_KAFKA_BROKERS = values.kafka;
      if (values.postgres !== undefined) env.OMS_POSTGRES_URL = values.postgres;
      const config = loadClusterConfig(values.config, env);
      await runDev(config, {
        port: values.port === undefined ? config.balancer.port : parsePort(values.port),
        dataDir: values["data-dir"] ?? config.dataDir,
      });
      return -1;
    }
    case "node": {
      const { values } = parseArgs({
        args: rest,
        options: { config: { type: "string" }, "node-id": { type: "string" }, "exit-with-parent": { type: "boolean" } },
      });
      const nodeId = values["node-id"] ?? process.env.OMS_NODE_ID;
      if (nodeId === undefined) throw new Error("oms node: --node-id is required");
      const running = await startNode(loadClusterConfig(values.config), nodeId);
      const stop = () => stopThenExit(running.stop);
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      if (values["exit-with-parent"] === true) exitWithParent(running.stop);
      return -1;
    }
    case "balancer": {
      const { values } = parseArgs({ args: rest, options: { config: { type: "string" }, port: { type: "string" } } });
      const running = await startBalancer(loadClusterConfig(values.config), values.port === undefined ? undefined : parsePort(values.port));
      const stop = () => stopThenExit(running.stop);
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      return -1;
    }
    case "dev-kafka":
      await runDevKafka(rest);
      return 0;
    case "tail":
      await runTail(rest);
      return 0;
    case "project": {
      // Under oms dev the projector stops with its parent; it is safe to stop at any moment,
      // since its rows and offsets commit together.
      const args = rest.filter((arg) => arg !== "--exit-with-parent");
      if (args.length !== rest.length) {
        process.stdin.on("end", () => process.exit(0));
        process.stdin.resume();
      }
      await runProject(args);
      return 0;
    }
    case "account":
    case "order":
      return runClientCommand(command, rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(`oms: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: must be 0..65535, got "${text}"`);
  return port;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`oms: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
