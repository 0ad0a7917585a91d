// Every setting can be overridden by OMS_ plus the upper-snake-case of its path
// (balancer.callTimeoutMs → OMS_BALANCER_CALL_TIMEOUT_MS), so a container can change one
// setting without a new file. The names are derived from CLUSTER_DEFAULTS, so a new setting
// gets its variable without anyone remembering to add it. A list of strings is written
// comma-separated (OMS_BALANCER_CORS_ORIGINS=https://a.example,https://b.example). OMS_NODES
// takes the node list as JSON.

import { CLUSTER_DEFAULTS } from "./cluster-config.ts";
import { ConfigError } from "./config-error.ts";
import { isJsonObject } from "./parse-cluster-config.ts";

type Env = Readonly<Record<string, string | undefined>>;

interface Override {
  variable: string;
  path: readonly string[];
  kind: "integer" | "string" | "list";
}

export const NODES_VARIABLE = "OMS_NODES";

function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function overridesOf(defaults: Record<string, unknown>, prefix: readonly string[]): Override[] {
  return Object.entries(defaults).flatMap(([key, value]): Override[] => {
    const path = [...prefix, key];
    if (isJsonObject(value)) return overridesOf(value, path);
    const variable = `OMS_${path.map(upperSnake).join("_")}`;
    const kind = typeof value === "number" ? "integer" : Array.isArray(value) ? "list" : "string";
    return [{ variable, path, kind }];
  });
}

/** Every OMS_ variable that the configuration reads, in a stable order. */
export const OVERRIDES: readonly Override[] = overridesOf(CLUSTER_DEFAULTS, []);

/** A copy of `raw` with each override found in `env` written at its path. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: Env): Record<string, unknown> {
  const result = structuredClone(raw);
  for (const override of OVERRIDES) {
    const text = env[override.variable];
    if (text === undefined) continue;
    setAt(result, override.path, valueOf(override, text));
  }
  const nodesText = env[NODES_VARIABLE];
  if (nodesText !== undefined) result["nodes"] = nodesOf(nodesText);
  return result;
}

function valueOf(override: Override, text: string): unknown {
  if (override.kind === "integer") return integerOf(override.variable, text);
  // An empty variable is an empty list, not a list of one empty entry.
  if (override.kind === "list") return text.trim() === "" ? [] : text.split(",").map((entry) => entry.trim());
  return text;
}

function integerOf(variable: string, text: string): number {
  // Number("") is 0 and Number("1e3") is 1000; only plain decimal digits are a setting.
  if (!/^-?\d+$/.test(text.trim())) throw new ConfigError(variable, `${JSON.stringify(text)} is not an integer`);
  return Number(text.trim());
}

function nodesOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(NODES_VARIABLE, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// A section that the file spelt wrongly (say, a number) is left alone so that validation
// reports it against its own name.
function setAt(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let object = root;
  for (const key of path.slice(0, -1)) {
    const next = object[key] ?? {};
    if (!isJsonObject(next)) return;
    object[key] = next;
    object = next;
  }
  const last = path[path.length - 1];
  if (last === undefined) throw new Error("config: an override has an empty path");
  object[last] = value;
}
