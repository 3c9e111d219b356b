/**
 * One page of topic names in name order, chosen without sorting every name: a bounded max-heap
 * keeps the `limit + 1` smallest names past the cursor while the names stream by, so a page of
 * k out of n topics costs O(n log k) comparisons and O(k) memory instead of an O(n log n) sort
 * and an n-long array per request. Measured on Node 20 with 100,000 topics: see
 * docs/principles.md, "Topic churn".
 *
 *   heap[0] is the largest kept name; a name smaller than it replaces it and sinks.
 *
 * Order is that of `<` on strings (UTF-16 code units), the same as Array.prototype.sort's
 * default, so pages follow the order of Hub.topics().
 * @module
 */

/** A page of names and whether more names follow it. */
export interface NamePage {
  /** At most `limit` names, in increasing order. */
  readonly names: string[];
  /** True when some name past the last one of `names` exists. */
  readonly more: boolean;
}

/**
 * The `limit` smallest names greater than `after` (every name when `after` is undefined), in
 * order. `names` may hold a name once only.
 */
export function pageOfNames(
  names: Iterable<string>,
  after: string | undefined,
  limit: number,
): NamePage {
  const keep = limit + 1;
  const heap: string[] = [];
  for (const name of names) {
    if (after !== undefined && name <= after) continue;
    if (heap.length < keep) {
      heap.push(name);
      siftUp(heap, heap.length - 1);
    } else if (name < heap[0]!) {
      heap[0] = name;
      siftDown(heap, 0);
    }
  }
  heap.sort();
  const more = heap.length > limit;
  if (more) heap.length = limit;
  return { names: heap, more };
}

function siftUp(heap: string[], index: number): void {
  const name = heap[index]!;
  let i = index;
  while (i > 0) {
    const parent = (i - 1) >>> 1;
    if (heap[parent]! >= name) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = name;
}

function siftDown(heap: string[], index: number): void {
  const name = heap[index]!;
  const length = heap.length;
  let i = index;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= length) break;
    const right = left + 1;
    const larger = right < length && heap[right]! > heap[left]! ? right : left;
    if (heap[larger]! <= name) break;
    heap[i] = heap[larger]!;
    i = larger;
  }
  heap[i] = name;
}
