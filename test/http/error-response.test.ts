import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SsehubError } from "../../src/errors.js";
import { errorBody } from "../../src/http/messages/error-response.js";

describe("errorBody()", () => {
  test("errorBody() takes the status and code of an SsehubError, with its details", () => {
    const error = new SsehubError("SSEHUB_ERR_PUBLISH_TOO_LARGE", "Too big", {
      details: { maxBodyBytes: 10 },
    });
    assert.deepEqual(errorBody(error), {
      statusCode: 413,
      code: "SSEHUB_ERR_PUBLISH_TOO_LARGE",
      message: "Too big",
      details: { maxBodyBytes: 10 },
    });
  });

  test("errorBody() leaves details out when the error has none", () => {
    const body = errorBody(new SsehubError("SSEHUB_ERR_ROUTE_NOT_FOUND", "Nowhere"));
    assert.deepEqual(body, {
      statusCode: 404,
      code: "SSEHUB_ERR_ROUTE_NOT_FOUND",
      message: "Nowhere",
    });
  });

  test("errorBody() turns an unknown error into a generic 500 that reveals nothing of it", () => {
    const body = errorBody(new Error("password=hunter2 at /srv/secret.js"));
    assert.equal(body.statusCode, 500);
    assert.equal(body.code, "SSEHUB_ERR_INTERNAL");
    assert.doesNotMatch(body.message, /hunter2|secret/);
  });
});
