import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileUriTemplate, parseUriTemplate } from "../../src/auth/uri-template.js";
import { isSsehubError } from "../../src/errors.js";

/**
 * Every example of RFC 6570 section 3.2 (template -> its expansion), with the RFC's variables:
 * count := ("one", "two", "three"), dom := ("example", "com"), dub := "me/too",
 * hello := "Hello World!", half := "50%", var := "value", who := "fred",
 * base := "http://example.com/home/", path := "/foo/bar", list := ("red", "green", "blue"),
 * keys := [("semi", ";"), ("dot", "."), ("comma", ",")], v := "6", x := "1024", y := "768",
 * empty := "", empty_keys := [], undef := null.
 */
const RFC_EXPANSIONS: readonly (readonly [string, string])[] = [
  // 3.2.1 Variable Expansion
  ["{count}", "one,two,three"],
  ["{count*}", "one,two,three"],
  ["{/count}", "/one,two,three"],
  ["{/count*}", "/one/two/three"],
  ["{;count}", ";count=one,two,three"],
  ["{;count*}", ";count=one;count=two;count=three"],
  ["{?count}", "?count=one,two,three"],
  ["{?count*}", "?count=one&count=two&count=three"],
  ["{&count*}", "&count=one&count=two&count=three"],
  // 3.2.2 Simple String Expansion
  ["{var}", "value"],
  ["{hello}", "Hello%20World%21"],
  ["{half}", "50%25"],
  ["O{empty}X", "OX"],
  ["O{undef}X", "OX"],
  ["{x,y}", "1024,768"],
  ["{x,hello,y}", "1024,Hello%20World%21,768"],
  ["?{x,empty}", "?1024,"],
  ["?{x,undef}", "?1024"],
  ["?{undef,y}", "?768"],
  ["{var:3}", "val"],
  ["{var:30}", "value"],
  ["{list}", "red,green,blue"],
  ["{list*}", "red,green,blue"],
  ["{keys}", "semi,%3B,dot,.,comma,%2C"],
  ["{keys*}", "semi=%3B,dot=.,comma=%2C"],
  // 3.2.3 Reserved Expansion
  ["{+var}", "value"],
  ["{+hello}", "Hello%20World!"],
  ["{+half}", "50%25"],
  ["{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"],
  ["{+base}index", "http://example.com/home/index"],
  ["O{+empty}X", "OX"],
  ["O{+undef}X", "OX"],
  ["{+path}/here", "/foo/bar/here"],
  ["here?ref={+path}", "here?ref=/foo/bar"],
  ["up{+path}{var}/here", "up/foo/barvalue/here"],
  ["{+x,hello,y}", "1024,Hello%20World!,768"],
  ["{+path,x}/here", "/foo/bar,1024/here"],
  ["{+path:6}/here", "/foo/b/here"],
  ["{+list}", "red,green,blue"],
  ["{+list*}", "red,green,blue"],
  ["{+keys}", "semi,;,dot,.,comma,,"],
  ["{+keys*}", "semi=;,dot=.,comma=,"],
  // 3.2.4 Fragment Expansion
  ["{#var}", "#value"],
  ["{#hello}", "#Hello%20World!"],
  ["{#half}", "#50%25"],
  ["foo{#empty}", "foo#"],
  ["foo{#undef}", "foo"],
  ["{#x,hello,y}", "#1024,Hello%20World!,768"],
  ["{#path,x}/here", "#/foo/bar,1024/here"],
  ["{#path:6}/here", "#/foo/b/here"],
  ["{#list}", "#red,green,blue"],
  ["{#list*}", "#red,green,blue"],
  ["{#keys}", "#semi,;,dot,.,comma,,"],
  ["{#keys*}", "#semi=;,dot=.,comma=,"],
  // 3.2.5 Label Expansion with Dot-Prefix
  ["{.who}", ".fred"],
  ["{.who,who}", ".fred.fred"],
  ["{.half,who}", ".50%25.fred"],
  ["www{.dom*}", "www.example.com"],
  ["X{.var}", "X.value"],
  ["X{.empty}", "X."],
  ["X{.undef}", "X"],
  ["X{.var:3}", "X.val"],
  ["X{.list}", "X.red,green,blue"],
  ["X{.list*}", "X.red.green.blue"],
  ["X{.keys}", "X.semi,%3B,dot,.,comma,%2C"],
  ["X{.keys*}", "X.semi=%3B.dot=..comma=%2C"],
  ["X{.empty_keys}", "X"],
  ["X{.empty_keys*}", "X"],
  // 3.2.6 Path Segment Expansion
  ["{/who}", "/fred"],
  ["{/who,who}", "/fred/fred"],
  ["{/half,who}", "/50%25/fred"],
  ["{/who,dub}", "/fred/me%2Ftoo"],
  ["{/var}", "/value"],
  ["{/var,empty}", "/value/"],
  ["{/var,undef}", "/value"],
  ["{/var,x}/here", "/value/1024/here"],
  ["{/var:1,var}", "/v/value"],
  ["{/list}", "/red,green,blue"],
  ["{/list*}", "/red/green/blue"],
  ["{/list*,path:4}", "/red/green/blue/%2Ffoo"],
  ["{/keys}", "/semi,%3B,dot,.,comma,%2C"],
  ["{/keys*}", "/semi=%3B/dot=./comma=%2C"],
  // 3.2.7 Path-Style Parameter Expansion
  ["{;who}", ";who=fred"],
  ["{;half}", ";half=50%25"],
  ["{;empty}", ";empty"],
  ["{;v,empty,who}", ";v=6;empty;who=fred"],
  ["{;v,bar,who}", ";v=6;who=fred"],
  ["{;x,y}", ";x=1024;y=768"],
  ["{;x,y,empty}", ";x=1024;y=768;empty"],
  ["{;x,y,undef}", ";x=1024;y=768"],
  ["{;hello:5}", ";hello=Hello"],
  ["{;list}", ";list=red,green,blue"],
  ["{;list*}", ";list=red;list=green;list=blue"],
  ["{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"],
  ["{;keys*}", ";semi=%3B;dot=.;comma=%2C"],
  // 3.2.8 Form-Style Query Expansion
  ["{?who}", "?who=fred"],
  ["{?half}", "?half=50%25"],
  ["{?x,y}", "?x=1024&y=768"],
  ["{?x,y,empty}", "?x=1024&y=768&empty="],
  ["{?x,y,undef}", "?x=1024&y=768"],
  ["{?var:3}", "?var=val"],
  ["{?list}", "?list=red,green,blue"],
  ["{?list*}", "?list=red&list=green&list=blue"],
  ["{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"],
  ["{?keys*}", "?semi=%3B&dot=.&comma=%2C"],
  // 3.2.9 Form-Style Query Continuation
  ["{&who}", "&who=fred"],
  ["{&half}", "&half=50%25"],
  ["?fixed=yes{&x}", "?fixed=yes&x=1024"],
  ["{&x,y,empty}", "&x=1024&y=768&empty="],
  ["{&var:3}", "&var=val"],
  ["{&list}", "&list=red,green,blue"],
  ["{&list*}", "&list=red&list=green&list=blue"],
  ["{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"],
  ["{&keys*}", "&semi=%3B&dot=.&comma=%2C"],
];

/** Strings no expansion of the template can produce. */
const NON_EXPANSIONS: readonly (readonly [string, string, string])[] = [
  ["{var}", "a/b", "a simple value cannot hold a reserved character"],
  ["{hello}", "Hello World!", "a simple value encodes space and !"],
  ["{half}", "50%", "a lone % is not a percent-encoded octet"],
  ["{half}", "50%2", "a truncated percent-encoded octet"],
  ["{var:3}", "valu", "a prefix keeps at most 3 characters"],
  ["{var:2}", "%C3%A9%C3%A9%C3%A9", "three encoded characters exceed a prefix of 2"],
  ["{+path:6}/here", "/foo/ba/here", "a prefix of 6 characters"],
  ["{.who}", "fred", "the label operator writes its dot"],
  ["{/who,who}", "/a/b/c", "two variables give at most two segments"],
  ["{/who}", "/a/b", "an unexploded variable is one segment"],
  ["{;x}", ";y=1", "a named operator writes the variable's name"],
  ["{?x,y}", "?y=768&x=1024", "variables expand in their order"],
  ["{?x,y}", "?x=1&x=2", "an unexploded variable appears once"],
  ["{?x}", "?x", "the query operator always writes ="],
  ["{#var}", "value", "the fragment operator writes #"],
  ["X{.var}", "Y.value", "literal text matches itself"],
  ["{var}", "é", "a value is percent-encoded"],
];

describe("compileUriTemplate().matches()", () => {
  it("matches every expansion given as an example in RFC 6570 section 3.2", () => {
    const missed = RFC_EXPANSIONS.filter(
      ([template, expansion]) => !compileUriTemplate(template).matches(expansion),
    );
    assert.deepEqual(missed, []);
  });

  it("matches nothing that no expansion of the template can produce", () => {
    const wrong = NON_EXPANSIONS.filter(([template, text]) =>
      compileUriTemplate(template).matches(text),
    );
    assert.deepEqual(wrong, []);
  });

  it("matches the empty expansion of a template made of expressions only", () => {
    assert.equal(compileUriTemplate("{var}").matches(""), true);
    assert.equal(compileUriTemplate("{/a}{?b}").matches(""), true);
    assert.equal(compileUriTemplate("{#a}").matches(""), true);
  });

  it("gives the same answer when one instance matches many strings in a row", () => {
    const template = compileUriTemplate("{/a:2,b}{?c}");
    const cases: [string, boolean][] = [
      ["/ab/x?c=1", true],
      ["/abc/x?c=1", false],
      ["/abc?c=1", true],
      ["/ab", true],
      ["?c=", true],
      ["/a/b/c", false],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [text, expected] of cases) assert.equal(template.matches(text), expected, text);
    }
  });
});

// An RFC 6570 expander (appendix A), written independently of the matcher, to check that every
// expansion of random templates with random values is matched.
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

type Value = undefined | string | readonly string[] | readonly (readonly [string, string])[];

function encode(value: string, allowReserved: boolean): string {
  let out = "";
  const chars = [...value];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (UNRESERVED.test(ch) || (allowReserved && RESERVED.test(ch))) out += ch;
    else if (
      allowReserved &&
      ch === "%" &&
      /^[0-9A-Fa-f]{2}$/.test(chars.slice(i + 1, i + 3).join(""))
    ) {
      out += chars.slice(i, i + 3).join("");
      i += 2;
    } else {
      for (const byte of new TextEncoder().encode(ch)) {
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
      }
    }
  }
  return out;
}

interface Spec {
  readonly name: string;
  readonly explode: boolean;
  readonly prefix: number | undefined;
}

function expand(operator: string, specs: readonly Spec[], values: readonly Value[]): string {
  const first = { "": "", "+": "", "#": "#", ".": ".", "/": "/", ";": ";", "?": "?", "&": "&" }[
    operator
  ]!;
  const sep = { "": ",", "+": ",", "#": ",", ".": ".", "/": "/", ";": ";", "?": "&", "&": "&" }[
    operator
  ]!;
  const named = operator === ";" || operator === "?" || operator === "&";
  const ifEmpty = operator === "?" || operator === "&" ? "=" : "";
  const reserved = operator === "+" || operator === "#";
  const enc = (text: string) => encode(text, reserved);
  let out = "";
  let any = false;
  specs.forEach((spec, i) => {
    const value = values[i];
    if (value === undefined || (typeof value !== "string" && value.length === 0)) return;
    out += any ? sep : first;
    any = true;
    if (typeof value === "string") {
      if (named) out += spec.name + (value === "" ? ifEmpty : "=");
      const kept = spec.prefix === undefined ? value : [...value].slice(0, spec.prefix).join("");
      out += enc(kept);
      return;
    }
    const isPairs = typeof value[0] !== "string";
    if (!spec.explode) {
      if (named) out += `${spec.name}=`;
      out += isPairs
        ? (value as readonly (readonly [string, string])[])
            .map(([k, v]) => `${enc(k)},${enc(v)}`)
            .join(",")
        : (value as readonly string[]).map(enc).join(",");
      return;
    }
    const items = isPairs
      ? (value as readonly (readonly [string, string])[]).map(([k, v]) =>
          named ? encode(k, false) + (v === "" ? ifEmpty : `=${enc(v)}`) : `${enc(k)}=${enc(v)}`,
        )
      : (value as readonly string[]).map((item) =>
          named ? spec.name + (item === "" ? ifEmpty : `=${enc(item)}`) : enc(item),
        );
    out += items.join(sep);
  });
  return out;
}

const text = fc
  .array(
    fc.constantFrom(
      "a",
      "Z",
      "0",
      "-",
      ".",
      "~",
      "/",
      "?",
      "&",
      "=",
      ",",
      ";",
      "%",
      "%41",
      " ",
      "é",
      "😀",
      "#",
      "+",
      "'",
    ),
    {
      maxLength: 6,
    },
  )
  .map((parts) => parts.join(""));
const spec = fc.record({
  name: fc.constantFrom("x", "y", "long_name", "a.b"),
  modifier: fc.constantFrom("", "*", ":1", ":3"),
});
const value = fc.oneof(
  fc.constant(undefined),
  text,
  fc.array(text, { maxLength: 3 }),
  fc.array(fc.tuple(text, text), { maxLength: 3 }),
);
const expression = fc.record({
  operator: fc.constantFrom("", "+", "#", ".", "/", ";", "?", "&"),
  vars: fc.array(fc.tuple(spec, value), { minLength: 1, maxLength: 3 }),
});

describe("compileUriTemplate() against an independent RFC 6570 expander", () => {
  it("matches every expansion of random templates with random values", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("", "/", "x-", "https://e.com/"), expression), {
          minLength: 1,
          maxLength: 3,
        }),
        (parts) => {
          let template = "";
          let expansion = "";
          for (const [literal, { operator, vars }] of parts) {
            const specs = vars.map(([{ name, modifier }, v]) => ({
              name,
              explode: modifier === "*",
              // A prefix applies to strings only (RFC 6570 section 2.4.1).
              prefix:
                modifier.startsWith(":") && typeof v === "string"
                  ? Number(modifier.slice(1))
                  : undefined,
              modifier: modifier.startsWith(":") && typeof v !== "string" ? "" : modifier,
            }));
            template += `${literal}{${operator}${specs.map((s) => s.name + s.modifier).join(",")}}`;
            expansion +=
              literal +
              expand(
                operator,
                specs,
                vars.map(([, v]) => v),
              );
          }
          assert.equal(
            compileUriTemplate(template).matches(expansion),
            true,
            `${template} ${expansion}`,
          );
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("parseUriTemplate()", () => {
  it("splits literals and expressions with their operator and modifiers", () => {
    assert.deepEqual(parseUriTemplate("a{+b*}c{?d:3,e}"), [
      { kind: "literal", text: "a" },
      {
        kind: "expression",
        operator: "+",
        vars: [{ name: "b", explode: true, prefix: undefined }],
      },
      { kind: "literal", text: "c" },
      {
        kind: "expression",
        operator: "?",
        vars: [
          { name: "d", explode: false, prefix: 3 },
          { name: "e", explode: false, prefix: undefined },
        ],
      },
    ]);
  });

  it("accepts dotted and percent-encoded variable names", () => {
    assert.equal(parseUriTemplate("{a.b,%41_1}").length, 1);
  });

  it("refuses invalid templates with SSEHUB_ERR_TOPIC_INVALID and a message naming the problem", () => {
    const cases: [string, RegExp][] = [
      ["https://example.com/{id", /no closing "}"/],
      ["https://example.com/{a{b}", /no closing "}" before "{"/],
      ["https://example.com/a}", /closes no expression/],
      ["{}", /is empty/],
      ["{=x}", /operator "=" .* reserved/],
      ["{,x}", /operator "," .* reserved/],
      ["{!x}", /operator "!" .* reserved/],
      ["{@x}", /operator "@" .* reserved/],
      ["{|x}", /operator "\|" .* reserved/],
      ["{$x}", /not a valid name/],
      ["{a b}", /not a valid name/],
      ["{a,}", /not a valid name/],
      ["{a..b}", /not a valid name/],
      ["{+}", /not a valid name/],
      ["{a:0}", /prefix .* from 1 to 9999/],
      ["{a:10000}", /prefix .* from 1 to 9999/],
      ["{a:01}", /prefix .* from 1 to 9999/],
      ["{a:3*}", /prefix .* from 1 to 9999/],
      ["{a*:3}", /not a valid name/],
    ];
    for (const [template, message] of cases) {
      assert.throws(
        () => parseUriTemplate(template),
        (error: unknown) =>
          isSsehubError(error) &&
          error.code === "SSEHUB_ERR_TOPIC_INVALID" &&
          message.test(error.message) &&
          error.message.startsWith("Cannot use topic selector"),
        template,
      );
    }
  });
});
