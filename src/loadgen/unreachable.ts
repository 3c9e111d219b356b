/**
 * The check that ends a bench run right after its connect phase when not one subscriber
 * reached the server (refused, unreachable, no answer within --connect-timeout): every later
 * step (publishing for `--duration`, holding for `--hold`) would measure nothing, so the run
 * stops at once with an error that says why (the connect errors, counted) and what to check.
 * A server that answered (401 for want of a token, say) is there: that run goes on, and its
 * result reports the refusals.
 * @module
 */
import { SsehubError } from "../errors.js";
import type { ConnectReport } from "./messages.js";

/** Node's codes of a connect that found no server, and what they mean to a user. */
const CONNECT_CODES: Readonly<Record<string, string>> = Object.freeze({
  ECONNREFUSED: "nothing listens there",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  ENOTFOUND: "the host name does not resolve",
  EADDRNOTAVAIL: "the address is not available",
  ECONNRESET: "the connection was reset before an answer",
  TIMEOUT: "no answer within --connect-timeout",
});

/**
 * An SSEHUB_ERR_BENCH_UNREACHABLE error when every subscriber of `reports` failed to reach the
 * server, else undefined (some got through, the server answered, or none was attempted: the run
 * goes on and reports them).
 * @example
 * unreachableError("http://127.0.0.1:9", reports)?.message
 * // 'Cannot bench http://127.0.0.1:9: no subscriber could connect (10 of 10 failed: ECONNREFUSED 10, nothing listens there): start the server, or check --url'
 */
export function unreachableError(
  url: string,
  reports: readonly ConnectReport[],
): SsehubError | undefined {
  let attempted = 0;
  let established = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  for (const report of reports) {
    attempted += report.attempted;
    established += report.established;
    failed += report.failed;
    for (const [code, count] of Object.entries(report.errors)) {
      errors[code] = (errors[code] ?? 0) + count;
    }
  }
  // A connect phase cut short (SIGINT) leaves attempts unfailed: that is no unreachable server.
  if (attempted === 0 || established > 0 || failed < attempted) return undefined;
  if (Object.keys(errors).some((code) => !Object.hasOwn(CONNECT_CODES, code))) return undefined;
  const causes = Object.entries(errors)
    .sort(([, a], [, b]) => b - a)
    .map(([code, count]) => {
      return `${code} ${count}, ${CONNECT_CODES[code]}`;
    });
  return new SsehubError(
    "SSEHUB_ERR_BENCH_UNREACHABLE",
    `Cannot bench ${url}: no subscriber could connect (${failed} of ${attempted} failed${causes.length === 0 ? "" : `: ${causes.join("; ")}`}): start the server, or check --url`,
    { details: { attempted, failed, errors } },
  );
}
