// What every public call passes before anything else: the key in its headers authenticated
// (key-ring.ts), its connection counted and one call taken from the key's bucket (key-limits.ts). Then authorize()
// decides the method and account, once the request's account id is known.
import { ConnectError } from "@connectrpc/connect";
import type { Connection } from "../rpc/connection-context.ts";
import { credentialsOf, type HeaderLookup } from "./credentials.ts";
import type { Caller, KeyRing } from "./key-ring.ts";
import type { KeyLimits } from "./key-limits.ts";

export type Admission = Caller | ConnectError;

export class CallGate {
  constructor(
    readonly keys: KeyRing,
    readonly limits: KeyLimits,
  ) {}

  /** The caller, with its call counted, or the refusal; a promise only on a key's first call here. */
  admit(header: HeaderLookup, connection: Connection | undefined): Admission | Promise<Admission> {
    const credentials = credentialsOf(header);
    if (credentials instanceof ConnectError) return credentials;
    const caller = this.keys.authenticate(credentials);
    return caller instanceof Promise ? caller.then((settled) => this.counted(settled, connection)) : this.counted(caller, connection);
  }

  private counted(caller: Admission, connection: Connection | undefined): Admission {
    if (caller instanceof ConnectError) return caller;
    return this.limits.takeConnection(caller, connection) ?? this.limits.takeCall(caller) ?? caller;
  }
}
