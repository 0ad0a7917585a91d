// Reads the cluster configuration: defaults, then the file (if any), then OMS_ variables,
// validated as a whole so that an override cannot slip past a check the file would fail.

import { readFileSync } from "node:fs";
import type { ClusterConfig } from "./cluster-config.ts";
import { ConfigError } from "./config-error.ts";
import { applyEnvOverrides } from "./env-overrides.ts";
import { isJsonObject, parseClusterConfig } from "./parse-cluster-config.ts";

export function loadClusterConfig(
  path: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ClusterConfig {
  const fileRaw = path === undefined ? {} : readConfigFile(path);
  return parseClusterConfig(applyEnvOverrides(fileRaw, env));
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, `cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isJsonObject(raw)) throw new ConfigError(path, "must hold a JSON object");
  return raw;
}
