// What a port or a client needs to speak TLS, as PEM text read at start (a file changed later
// takes a restart). The public port offers h2 and http/1.1 by ALPN: browsers and curl pick one,
// and the port still tells the two apart by their first bytes, as it does in the clear.
import type * as tls from "node:tls";

export interface ServerTls {
  readonly cert: string;
  readonly key: string;
  /** Set: a client must present a certificate signed by this CA, or the handshake fails. */
  readonly clientCa?: string;
}

export interface ClientTls {
  /** The CA the server's certificate must chain to; the system's CAs are not trusted instead. */
  readonly ca: string;
  /** The client's own certificate, for a server that requires one (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
}

/** ALPN, in the server's order of preference. */
const ALPN_PROTOCOLS = ["h2", "http/1.1"];

/** The handshake's time is bounded by serve.ts's head deadline, which starts at the TCP connection. */
export function serverTlsOptions(serverTls: ServerTls): tls.TlsOptions {
  const mutual = serverTls.clientCa !== undefined;
  return {
    cert: serverTls.cert,
    key: serverTls.key,
    ALPNProtocols: ALPN_PROTOCOLS,
    ...(mutual ? { ca: serverTls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/** node:http2 connect options for a client of a TLS port. */
export function clientTlsOptions(clientTls: ClientTls): tls.ConnectionOptions {
  return {
    ca: clientTls.ca,
    ALPNProtocols: ["h2"],
    rejectUnauthorized: true,
    ...(clientTls.cert !== undefined && clientTls.key !== undefined ? { cert: clientTls.cert, key: clientTls.key } : {}),
  };
}
