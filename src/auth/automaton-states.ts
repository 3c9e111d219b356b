/**
 * The state table of a Thompson automaton, built backwards: each state is a kind, an argument
 * (a character, a set, a group...) and up to two successors, in parallel arrays so that the
 * simulation reads numbers, never objects. Shared by the URI template matcher
 * (uri-template.ts) and the URL pattern matcher (url-pattern-automaton.ts), which give the
 * kinds their own meanings.
 * @module
 */

/** The states added so far; `add` answers the new state's index. */
export class AutomatonStates {
  readonly kind: number[] = [];
  readonly arg: number[] = [];
  readonly out: number[] = [];
  /** The second successor of a split; -1 for the other kinds. */
  readonly out2: number[] = [];

  add(kind: number, arg: number, out: number, out2: number): number {
    this.kind.push(kind);
    this.arg.push(arg);
    this.out.push(out);
    this.out2.push(out2);
    return this.kind.length - 1;
  }
}
