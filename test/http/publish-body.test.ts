import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  FORM_MEDIA_TYPE,
  formPublishInput,
  JSON_MEDIA_TYPE,
  type PublishBody,
  parseFormStrict,
  parsePublishBody,
} from "../../src/http/messages/publish-body.js";

function json(text: string): PublishBody {
  return parsePublishBody(JSON_MEDIA_TYPE, Buffer.from(text, "utf8"));
}

function form(text: string): PublishBody {
  return parsePublishBody(FORM_MEDIA_TYPE, Buffer.from(text, "utf8"));
}

function single(body: PublishBody): PublishBody & { batch: false } {
  assert.equal(body.batch, false);
  return body as PublishBody & { batch: false };
}

describe("parseFormStrict()", () => {
  test("parseFormStrict() reads forms as URLSearchParams does: + is a space, stray % stays", () => {
    const cases: [string, [string, string][]][] = [
      [
        "a=1&b=x+y&c=%2B&d=",
        [
          ["a", "1"],
          ["b", "x y"],
          ["c", "+"],
          ["d", ""],
        ],
      ],
      [
        "&&a&=v&",
        [
          ["a", ""],
          ["", "v"],
        ],
      ],
      [
        "p=100%&q=%zz&r=%2&s=%%41",
        [
          ["p", "100%"],
          ["q", "%zz"],
          ["r", "%2"],
          ["s", "%A"],
        ],
      ],
      ["k=a=b=c", [["k", "a=b=c"]]],
      ["%74opic=%E6%97%A5%E6%9C%AC", [["topic", "日本"]]],
      ["bom=%EF%BB%BFx", [["bom", "\ufeffx"]]],
    ];
    for (const [text, pairs] of cases) {
      assert.deepEqual([...parseFormStrict(text)], pairs, text);
      assert.deepEqual([...new URLSearchParams(text)], pairs, `URLSearchParams agrees on ${text}`);
    }
  });

  test("parseFormStrict() keeps raw non-ASCII text beside percent-escapes (Node 20's URLSearchParams garbles it)", () => {
    // new URLSearchParams("d=日本%0A%ZZ").get("d") is "\ufffd,\n%ZZ" on Node 20.
    assert.equal(parseFormStrict("d=日本%0A%ZZ").get("d"), "日本\n%ZZ");
    assert.equal(parseFormStrict("d=é+%C3%A9%").get("d"), "é é%");
  });

  test("parseFormStrict() gives back every value that URLSearchParams serialized", () => {
    let state = 7;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const alphabet = ["a", " ", "+", "%", "&", "=", "é", "日", "😀", "\n", "\0", "%41", "\ufeff"];
    for (let run = 0; run < 500; run++) {
      const pairs: [string, string][] = [];
      for (let p = next(4); p >= 0; p--) {
        let name = "";
        let value = "";
        for (let i = next(6); i > 0; i--) name += alphabet[next(alphabet.length)];
        for (let i = next(12); i > 0; i--) value += alphabet[next(alphabet.length)];
        pairs.push([name, value]);
      }
      const text = new URLSearchParams(pairs).toString();
      assert.deepEqual([...parseFormStrict(text)], pairs, text);
    }
  });

  test("parseFormStrict() refuses percent-escapes that do not decode to UTF-8", () => {
    for (const text of [
      "data=%FF",
      "data=%C3",
      "data=%C3%28",
      "data=%C0%AF",
      "data=%ED%A0%80",
      "data=%F4%90%80%80",
      "data=ok%E2%82",
      "%FF=x",
    ]) {
      assert.throws(() => parseFormStrict(text), { code: "SSEHUB_ERR_PUBLISH_MALFORMED" }, text);
    }
  });
});

describe("parsePublishBody()", () => {
  test("parsePublishBody() refuses a form whose percent-escapes are not UTF-8, instead of publishing U+FFFD", () => {
    assert.throws(() => form("topic=t&data=%FF"), {
      code: "SSEHUB_ERR_PUBLISH_MALFORMED",
      message: /percent-escapes that are not UTF-8/,
    });
    assert.equal(single(form("topic=t&data=%EF%BF%BD")).input.data, "\ufffd");
  });

  test("parsePublishBody() refuses a body that is not UTF-8, not JSON, or an empty batch", () => {
    assert.throws(() => parsePublishBody(JSON_MEDIA_TYPE, Buffer.from([0x7b, 0xff, 0x7d])), {
      code: "SSEHUB_ERR_PUBLISH_MALFORMED",
      message: /not valid UTF-8/,
    });
    assert.throws(() => json("{"), { code: "SSEHUB_ERR_PUBLISH_MALFORMED" });
    assert.throws(() => json("[]"), { code: "SSEHUB_ERR_PUBLISH_MALFORMED" });
  });

  test("parsePublishBody() hands JSON to the hub as parsed: the fields are the hub's to check", () => {
    // Every one of these is refused by the hub (test/hub/publish-input.test.ts), not here.
    assert.deepEqual(single(json('{"topic":"\\ud800","evnt":1}')).input, {
      topic: "\ud800",
      evnt: 1,
    });
    assert.equal(single(json("42")).input, 42);
    const batch = json('[{"topic":"t","data":"x"},{"data":"\\ude00"}]');
    assert.equal(batch.batch, true);
    assert.deepEqual(batch.batch && batch.inputs, [{ topic: "t", data: "x" }, { data: "\ude00" }]);
  });
});

describe("formPublishInput()", () => {
  test("formPublishInput() maps Mercure's field names onto a PublishInput", () => {
    const form = parseFormStrict("topic=a&topic=b&data=x&type=note&retry=1500&private=&id=urn:1");
    assert.deepEqual(formPublishInput(form), {
      topics: ["a", "b"],
      data: "x",
      event: "note",
      retry: 1500,
      private: true,
      id: "urn:1",
    });
  });

  test("formPublishInput() leaves absent fields absent and passes a retry not in digits on as text", () => {
    assert.deepEqual(formPublishInput(parseFormStrict("topic=a")), { topics: ["a"] });
    for (const retry of ["12a", "-5", "1e3", "", " 5"]) {
      const form = parseFormStrict(`topic=a&data=x&retry=${encodeURIComponent(retry)}`);
      assert.equal(formPublishInput(form).retry, retry as unknown as number);
    }
  });

  test("formPublishInput() refuses a field name that maps to nothing, or a field given twice", () => {
    for (const [text, field] of [
      ["topic=a&data=x&color=red", "color"],
      ["topic=a&data=x&event=e", "event"],
      ["topic=a&data=x&data=y", "data"],
      ["topic=a&data=x&id=1&id=2", "id"],
    ] as const) {
      assert.throws(() => formPublishInput(parseFormStrict(text)), {
        code: "SSEHUB_ERR_PUBLISH_MALFORMED",
        details: { field },
      });
    }
  });
});
