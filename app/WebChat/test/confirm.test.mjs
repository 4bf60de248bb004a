// node --test app/WebChat/test: confirmation requests as the agent streams them, and their words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeAction } from "../src/confirm.js";
import { interpretEvent } from "../src/stream.js";

test("a confirmation request is an event of its own; one without an id is nothing", () => {
  const request = { id: "abc", action: { tool: "start_return", order_id: "ORD-1" }, expires_in_seconds: 300 };
  assert.deepEqual(interpretEvent(JSON.stringify({ confirmation: request })), { confirmation: request });
  assert.deepEqual(interpretEvent(JSON.stringify({ confirmation: { action: {} } })), {});
  assert.deepEqual(interpretEvent(JSON.stringify({ confirmation_outcome: { id: "abc", outcome: "approved" } })), {});
});

test("the action is named in words: order, line, quantity, refund and its path; a ticket's summary", () => {
  const shown = describeAction({
    tool: "start_return", order_id: "ORD-3001", line: 2, quantity: 1, refund_amount: 79.99,
    refund_path: "original payment method",
  });
  assert.match(shown, /^Start a return for order ORD-3001, line 2, quantity 1: refund .*79\.99 to your original payment method\.$/);
  assert.equal(
    describeAction({ tool: "create_support_ticket", summary: "<b>crushed</b>", order_id: "ORD-1" }),
    "Open a support ticket about order ORD-1 for a person to follow up: “<b>crushed</b>”",
  );
});
