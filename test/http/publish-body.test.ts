import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  FORM_MEDIA_TYPE,
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

  test("parsePublishBody() refuses JSON escapes of lone surrogates where text reaches the wire", () => {
    const cases: [string, string][] = [
      ['{"topic":"\\ud800","data":"x"}', "SSEHUB_ERR_TOPIC_INVALID"],
      ['{"topics":["ok","a\\udc00"],"data":"x"}', "SSEHUB_ERR_TOPIC_INVALID"],
      ['{"topic":"t","data":"a\\ud800b"}', "SSEHUB_ERR_EVENT_INVALID_DATA"],
      ['{"topic":"t","data":"x","event":"\\uDBFF"}', "SSEHUB_ERR_EVENT_INVALID_TYPE"],
      ['{"topic":"t","data":"x","id":"\\udfff"}', "SSEHUB_ERR_EVENT_INVALID_ID"],
      [
        '[{"topic":"t","data":"x"},{"topic":"t","data":"\\ude00\\ud83d"}]',
        "SSEHUB_ERR_EVENT_INVALID_DATA",
      ],
    ];
    for (const [text, code] of cases) {
      assert.throws(() => json(text), { code, message: /lone surrogate/ }, text);
    }
  });

  test("parsePublishBody() accepts surrogate pairs, escaped backslashes and lone surrogates inside JSON data", () => {
    assert.equal(single(json('{"topic":"t","data":"\\ud83d\\ude00"}')).input.data, "😀");
    assert.equal(single(json('{"topic":"t","data":"\\\\ud800"}')).input.data, "\\ud800");
    // Serialized again, a lone surrogate in a JSON value travels as the escape it came as.
    assert.deepEqual(single(json('{"topic":"t","data":{"s":"\\ud800"}}')).input.data, {
      s: "\ud800",
    });
  });
});
