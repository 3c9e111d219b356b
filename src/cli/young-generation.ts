/**
 * The young generation of a serving process, kept at V8's initial size (DESIGN principle 7).
 *
 * Why: V8 grows the young generation while allocation runs fast, and a connect burst (every
 * handshake allocates its request, response and parser) grows it to its maximum, two semi-spaces
 * of 16 MiB on Node 20 and 24, which an idle process never gives back: 3 to 5 MiB of resident
 * memory per 1,000 idle subscribers at 10,000 per process. A hub's steady work (fan-out) keeps
 * few objects alive across a scavenge, so a small young generation costs it little (measured in
 * docs/principles.md, "A small idle footprint").
 *
 * How: `--max-semi-space-size` is read once, when V8 sets up its heap, so it cannot be set from
 * inside a running process; `--semi-space-growth-factor` is read at each growth, so setting it
 * to 1 keeps the semi-spaces at their initial size (1 MiB on Node 20 and 24). One mechanism for
 * the single process and for every worker of `--workers` (each worker runs `ssehub serve` too),
 * with no change to how the cluster forks.
 *
 * An operator who sets the young generation (`--max-semi-space-size`, `--min-semi-space-size`,
 * `--semi-space-growth-factor`, on the command line or in NODE_OPTIONS) keeps their own setting.
 * @module
 */
import v8 from "node:v8";

/** The V8 flags that size the young generation: an operator who sets one keeps it. */
const YOUNG_GENERATION_FLAGS =
  /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/** The flag that keeps the semi-spaces at their initial size. */
export const YOUNG_GENERATION_FLAG = "--semi-space-growth-factor=1";

/**
 * True when neither the process's flags (`execArgv`) nor NODE_OPTIONS size the young
 * generation, so that ssehub may size it.
 */
export function isYoungGenerationUnset(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  return (
    !execArgv.some((arg) => YOUNG_GENERATION_FLAGS.test(arg)) &&
    !YOUNG_GENERATION_FLAGS.test(nodeOptions ?? "")
  );
}

/**
 * Keeps this process's young generation at V8's initial size unless the operator sized it
 * (see the module comment). Returns true when it set the flag. Call it before the first
 * connection arrives: a young generation that has grown stays grown.
 */
export function limitYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): boolean {
  if (!isYoungGenerationUnset(execArgv, nodeOptions)) return false;
  v8.setFlagsFromString(YOUNG_GENERATION_FLAG);
  return true;
}
