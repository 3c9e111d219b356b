/**
 * The private events a token's grants let through, as the hub's subscribers ask (PrivateAccess):
 * shared by both Mercure drafts' authorizers.
 * @module
 */
import { canSubscribe, type Grants } from "../../auth/index.js";
import type { PrivateAccess } from "../../hub/subscriber.js";

/** The private events a token's `subscribe` grants let through. */
export class GrantedAccess implements PrivateAccess {
  readonly #grants: Grants;

  constructor(grants: Grants) {
    this.#grants = grants;
  }

  /** True when one of `topics` is granted (an update on several topics needs one). */
  allows(topics: readonly string[]): boolean {
    for (const topic of topics) if (canSubscribe(this.#grants, topic)) return true;
    return false;
  }
}
