/**
 * Who may read the hub's insides: the admin endpoints under `/admin/` (stats, stall reports,
 * diagnosis) and the dashboard. They show topic names, client counts and timings, so they sit
 * behind a token of their own, `adminToken`, sent as `Authorization: Bearer <adminToken>`.
 *
 * | adminToken | publisher or subscriber auth | admin endpoints |
 * |---|---|---|
 * | set | any | need the token (401 without it, or with another) |
 * | empty | off (no key, no JWKS) | open, as publishing and subscribing are |
 * | empty | on | refused: 403 SSEHUB_ERR_ADMIN_DISABLED, naming the option to set |
 *
 * A hub that asks its publishers for a token never shows its insides to a client that has none.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { SsehubError } from "../../errors.js";

/** What AdminAccess needs to know of the server's options. */
export interface AdminAccessOptions {
  /** The admin token; empty: none. */
  readonly adminToken: string;
  /** True when publishers or subscribers need a token (any key or JWKS URL is set). */
  readonly authIsOn: boolean;
}

/** Equal-length digests, so that the comparison takes the same time whatever the token sent. */
function digestOf(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** The gate in front of the admin endpoints. */
export class AdminAccess {
  readonly #expected: Buffer | undefined;
  readonly #authIsOn: boolean;

  constructor(options: AdminAccessOptions) {
    this.#expected = options.adminToken === "" ? undefined : digestOf(options.adminToken);
    this.#authIsOn = options.authIsOn;
  }

  /** True when the admin endpoints answer anyone (no admin token, auth off). */
  get isOpen(): boolean {
    return this.#expected === undefined && !this.#authIsOn;
  }

  /** Throws 401 or 403 unless `req` may read the admin endpoints. */
  check(req: IncomingMessage): void {
    if (this.#expected === undefined) {
      if (!this.#authIsOn) return;
      throw new SsehubError(
        "SSEHUB_ERR_ADMIN_DISABLED",
        "Cannot serve the admin endpoints: publishers or subscribers need a token, so these need one too; set adminToken (--admin-token, SSEHUB_ADMIN_TOKEN)",
      );
    }
    const header = req.headers.authorization;
    if (header === undefined || header === "") {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_MISSING",
        "Cannot serve the admin endpoints without the admin token: send Authorization: Bearer <adminToken>",
      );
    }
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (match === null || !timingSafeEqual(digestOf(match[1]!), this.#expected)) {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_INVALID",
        "Cannot serve the admin endpoints: the token sent is not the admin token",
        { details: { reason: "invalid" } },
      );
    }
  }
}
