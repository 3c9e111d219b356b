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
 * Node 24 (V8 13) grows the new space by a second path that the growth factor does not govern:
 * with `--separate-gc-phases` (on by default in Node 24's V8 13.6, off in Node 20's V8 11.3) no
 * scavenge runs while a full collection is marking, and a full new space gets one more 256 KiB
 * page at a time until the marking ends ("to avoid prematurely finalizing the incremental GC", V8's
 * `Heap::ShouldExpandYoungGenerationOnSlowAllocation`). The pages go back when the full
 * collection ends, but how many are added depends on how long the marking takes, which a loaded
 * CPU stretches: the burst of test/cli/young-generation.test.ts peaked at 5 MiB of new space
 * (median of 20 runs; up to 12.5 under CPU load) against 2 with the flag below.
 * `--no-separate-gc-phases` is also read at each allocation, and restores Node 20's behaviour:
 * a full new space is scavenged, marking or not. `--max-semi-space-size=1` does not govern
 * that path either: on the command line the burst still peaked at 2.25 to 5.5 MiB, and set from
 * inside (where it is read too late) at 4.5 to 11.5.
 *
 * An operator who sets the young generation (`--max-semi-space-size`, `--min-semi-space-size`,
 * `--semi-space-growth-factor`, `--[no-]separate-gc-phases`, on the command line or in
 * NODE_OPTIONS) keeps their own setting, and ssehub sets none of these flags.
 * @module
 */
import v8 from "node:v8";

/** Any V8 flag that sizes the young generation: an operator who sets one keeps it. */
const OPERATOR_YOUNG_GENERATION_FLAG =
  /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor|--(?:no[-_])?separate[-_]gc[-_]phases/;

/**
 * The flags that keep the semi-spaces at their initial size: no growth after a scavenge, and
 * no pages added while a full collection marks (see the module comment). Node 20 has both flags
 * (the second is its default), so one list serves both majors.
 */
export const SMALL_YOUNG_GENERATION_FLAGS = Object.freeze([
  "--semi-space-growth-factor=1",
  "--no-separate-gc-phases",
]);

/**
 * True when neither the process's flags (`execArgv`) nor NODE_OPTIONS size the young
 * generation, so that ssehub may size it.
 */
export function isYoungGenerationUnset(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  return (
    !execArgv.some((arg) => OPERATOR_YOUNG_GENERATION_FLAG.test(arg)) &&
    !OPERATOR_YOUNG_GENERATION_FLAG.test(nodeOptions ?? "")
  );
}

/**
 * Keeps this process's young generation at V8's initial size unless the operator sized it
 * (see the module comment). Returns true when it set the flags. Call it before the first
 * connection arrives: a young generation that has grown stays grown.
 */
export function limitYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): boolean {
  if (!isYoungGenerationUnset(execArgv, nodeOptions)) return false;
  for (const flag of SMALL_YOUNG_GENERATION_FLAGS) v8.setFlagsFromString(flag);
  return true;
}
