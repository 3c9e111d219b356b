import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pageOfNames } from "../../src/hub/topic-page.js";

describe("pageOfNames()", () => {
  it("pages through shuffled names in sorted order, each once", () => {
    const names = Array.from({ length: 1000 }, (_, i) => `name-${(i * 7919) % 1000}`);
    const sorted = [...names].sort();
    for (const limit of [1, 3, 100, 999, 1000, 2000]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = pageOfNames(names, after, limit);
        assert.ok(page.names.length <= limit);
        seen.push(...page.names);
        if (!page.more) break;
        after = page.names.at(-1);
      }
      assert.deepEqual(seen, sorted, `limit ${limit}`);
    }
  });

  it("orders names as Array.prototype.sort does (UTF-16 code units)", () => {
    const names = ["é", "z", "Z", "😀", "ﬀ", "a/b", "a"];
    assert.deepEqual(pageOfNames(names, undefined, 10).names, [...names].sort());
    assert.deepEqual(pageOfNames(names, "z", 10), { names: ["é", "😀", "ﬀ"], more: false });
  });
});
