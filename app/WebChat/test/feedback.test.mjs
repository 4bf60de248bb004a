// node --test app/WebChat/test: the trace id event and what a rating reply means.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeFeedbackReply } from "../src/feedback.js";
import { interpretEvent } from "../src/stream.js";

test("an answer's closing turn event gives its trace id, and nothing to show", () => {
  const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  assert.deepEqual(interpretEvent(JSON.stringify({ turn: { traceId: trace } })), { trace });
  assert.deepEqual(interpretEvent(JSON.stringify({ turn: { traceId: 7 } })), {});
  assert.deepEqual(interpretEvent(JSON.stringify({ turn: null })), {});
});

test("a rating reply: stored, or a message the customer can act on", () => {
  assert.equal(describeFeedbackReply(200), null);
  assert.match(describeFeedbackReply(401), /sign in again/);
  assert.match(describeFeedbackReply(403), /can no longer be rated/);
  assert.match(describeFeedbackReply(409), /can no longer be rated/);
  assert.match(describeFeedbackReply(429), /tomorrow/);
  assert.match(describeFeedbackReply(503), /try again/);
});
