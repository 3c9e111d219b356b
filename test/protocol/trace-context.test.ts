import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatTraceparent,
  parentIdOf,
  parseTraceContext,
  traceFlagsOf,
  traceIdOf,
} from "../../src/protocol/trace-context.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe("parseTraceContext", () => {
  it("reads a valid traceparent and its parts", () => {
    const context = parseTraceContext(VALID);
    assert.deepEqual(context, { traceparent: VALID });
    assert.equal(traceIdOf(context!), TRACE_ID);
    assert.equal(parentIdOf(context!), SPAN_ID);
    assert.equal(traceFlagsOf(context!), 1);
  });

  it("keeps a printable tracestate, joining several headers", () => {
    assert.deepEqual(parseTraceContext(VALID, "a=1"), { traceparent: VALID, tracestate: "a=1" });
    assert.deepEqual(parseTraceContext(VALID, ["a=1", "b=2"]), {
      traceparent: VALID,
      tracestate: "a=1,b=2",
    });
    assert.deepEqual(parseTraceContext(VALID, "x".repeat(513)), { traceparent: VALID });
    assert.deepEqual(parseTraceContext(VALID, "a=\u00e9"), { traceparent: VALID });
  });

  it("reads a later version as version 00, and carries it on as 00", () => {
    assert.deepEqual(parseTraceContext(`01-${TRACE_ID}-${SPAN_ID}-01`), { traceparent: VALID });
    assert.deepEqual(parseTraceContext(`cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-holds`), {
      traceparent: VALID,
    });
  });

  it("ignores every invalid header", () => {
    const invalid = [
      undefined,
      ["a", "b"],
      "",
      "garbage",
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${"0".repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${"0".repeat(16)}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-0g`,
      `00_${TRACE_ID}-${SPAN_ID}-01`,
      `01-${TRACE_ID}-${SPAN_ID}-01x`,
      `00-${TRACE_ID.slice(1)}-${SPAN_ID}0-01`,
    ];
    for (const header of invalid) {
      assert.equal(parseTraceContext(header), undefined, String(header));
    }
  });

  it("formats a traceparent of version 00", () => {
    assert.equal(formatTraceparent(TRACE_ID, SPAN_ID, 1), VALID);
    assert.equal(formatTraceparent(TRACE_ID, SPAN_ID, 0), `00-${TRACE_ID}-${SPAN_ID}-00`);
  });
});
