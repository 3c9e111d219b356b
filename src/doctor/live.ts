/**
 * `ssehub doctor --url`: the live diagnosis of a running hub, read from its admin endpoints.
 * @module
 */

/** What the live diagnosis reads. */
export interface LiveDiagnosisInput {
  /** The hub's base URL, `http://host:port`. */
  readonly url: string;
  /** The hub's admin token; empty: none sent. */
  readonly adminToken: string;
  /** Print JSON for machines instead of the table and verdict. */
  readonly json: boolean;
}

/**
 * Reads a running hub and writes its diagnosis through `write` (one call per line); resolves
 * with the exit status: 0 when the hub is healthy, 1 when a finding needs action, 2 when the
 * hub could not be read.
 */
export async function diagnoseLiveHub(
  input: LiveDiagnosisInput,
  write: (line: string) => void,
): Promise<number> {
  write(`Cannot diagnose ${input.url} yet: the live diagnosis is not built`);
  return 2;
}
