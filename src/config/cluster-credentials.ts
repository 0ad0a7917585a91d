// The secret and certificates that the configuration names, read once at a process's start:
// a node's door and TLS, a balancer's hop to its nodes and its public port's TLS. A file that
// cannot be read fails the start with the setting that named it.
import { readFileSync } from "node:fs";
import type { ClientTls, ServerTls } from "../rpc/tls.ts";
import type { NodeHop } from "../rpc/transport.ts";
import { CLUSTER_SECRET_CHARS_MIN, type ClusterConfig } from "./cluster-config.ts";
import { ConfigError } from "./config-error.ts";

function readSetting(where: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(where, `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The cluster secret, from cluster.secret (OMS_CLUSTER_SECRET) or cluster.secretFile; null if neither is set. */
export function clusterSecretOf(config: ClusterConfig): string | null {
  if (config.cluster.secret !== "") return config.cluster.secret;
  if (config.cluster.secretFile === "") return null;
  const secret = readSetting("cluster.secretFile", config.cluster.secretFile).trim();
  if (secret.length < CLUSTER_SECRET_CHARS_MIN) throw new ConfigError("cluster.secretFile", `${config.cluster.secretFile} holds fewer than ${CLUSTER_SECRET_CHARS_MIN} characters`);
  return secret;
}

/** Nodes require the balancer's client certificate (mutual TLS) when the cluster has one. */
export function isMutualTls(config: ClusterConfig): boolean {
  return config.cluster.tlsClientCertFile !== "";
}

/** The node port's TLS, or undefined when the node hop is plain. */
export function nodeServerTls(config: ClusterConfig): ServerTls | undefined {
  const c = config.cluster;
  if (c.tlsCertFile === "") return undefined;
  const served = { cert: readSetting("cluster.tlsCertFile", c.tlsCertFile), key: readSetting("cluster.tlsKeyFile", c.tlsKeyFile) };
  return isMutualTls(config) ? { ...served, clientCa: readSetting("cluster.tlsCaFile", c.tlsCaFile) } : served;
}

/** What a balancer's calls to its nodes carry. */
export function nodeHopOf(config: ClusterConfig): NodeHop {
  const c = config.cluster;
  const secret = clusterSecretOf(config);
  let tls: ClientTls | undefined;
  if (c.tlsCertFile !== "") {
    const ca = readSetting("cluster.tlsCaFile", c.tlsCaFile);
    tls = isMutualTls(config)
      ? { ca, cert: readSetting("cluster.tlsClientCertFile", c.tlsClientCertFile), key: readSetting("cluster.tlsClientKeyFile", c.tlsClientKeyFile) }
      : { ca };
  }
  return { ...(secret === null ? {} : { secret }), ...(tls === undefined ? {} : { tls }) };
}

/** The URL a balancer calls a node at: https when the node hop is encrypted. */
export function nodeUrlOf(config: ClusterConfig, node: { host: string; port: number }): string {
  const host = node.host.includes(":") ? `[${node.host}]` : node.host;
  return `${config.cluster.tlsCertFile === "" ? "http" : "https"}://${host}:${node.port}`;
}

/** The public port's TLS, or undefined when it is plain. */
export function publicServerTls(config: ClusterConfig): ServerTls | undefined {
  const b = config.balancer;
  if (b.tlsCertFile === "") return undefined;
  return { cert: readSetting("balancer.tlsCertFile", b.tlsCertFile), key: readSetting("balancer.tlsKeyFile", b.tlsKeyFile) };
}
