// node --test app/WebChat/test: what the customer is told on a 429, throttle or daily quota.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeTooManyRequests, formatWhen, retryAfterSeconds } from "../src/limits.js";

const NOW = Date.UTC(2026, 11, 2, 16, 0, 0); // Wed 2 Dec 2026, 16:00 UTC
const at = { now: NOW, locale: "en-GB" };

test("a short throttle asks for a moment, with or without a stated wait", () => {
  for (const [body, header] of [
    [{ message: "Too Many Requests", retryAfterSeconds: 2 }, "2"], // the local front door
    [{ message: "Too Many Requests" }, null], // API Gateway's usage-plan throttle
    [{}, null],
  ]) {
    const notice = describeTooManyRequests(body, header, at);
    assert.equal(notice.kind, "throttle");
    assert.match(notice.text, /wait a moment/);
  }
});

test("the daily quota says when, in the customer's own time zone", () => {
  const body = { message: "Limit Exceeded", retryAfterSeconds: 8 * 3600 }; // midnight UTC
  const tokyo = describeTooManyRequests(body, "28800", { ...at, zone: "Asia/Tokyo" });
  assert.deepEqual(tokyo, { kind: "quota", text: "You've reached today's message limit. You can write again at 09:00." });
  const london = describeTooManyRequests(body, null, { ...at, zone: "Europe/London" });
  assert.equal(london.text, "You've reached today's message limit. You can write again tomorrow at 00:00.");
  const honolulu = describeTooManyRequests(body, null, { ...at, zone: "Pacific/Honolulu" });
  assert.match(honolulu.text, /write again at 14:00\.$/);
});

test("a long wait is the quota whatever the message; a quota without a wait names no time", () => {
  const long = describeTooManyRequests({}, "7200", { ...at, zone: "UTC" });
  assert.deepEqual(long, { kind: "quota", text: "You've reached the message limit for now. You can write again at 18:00." });
  const apiGateway = describeTooManyRequests({ message: "Limit Exceeded" }, null, at);
  assert.equal(apiGateway.kind, "quota");
  assert.match(apiGateway.text, /resets once a day/);
  assert.doesNotMatch(apiGateway.text, /\d\d:\d\d/);
});

test("Retry-After as seconds or an HTTP date; the body's figure wins; nonsense is no figure", () => {
  assert.equal(retryAfterSeconds({ retryAfterSeconds: 30 }, "5"), 30);
  assert.equal(retryAfterSeconds({}, " 5 "), 5);
  assert.equal(retryAfterSeconds({}, new Date(NOW + 90_000).toUTCString(), NOW), 90);
  assert.equal(retryAfterSeconds({ retryAfterSeconds: "soon" }, "later"), null);
  assert.equal(retryAfterSeconds(null, null), null);
});

test("dates further off name the day", () => {
  const when = formatWhen(new Date(NOW + 3 * 86_400_000), new Date(NOW), "en-GB", "UTC");
  assert.equal(when, "on Sat 5 Dec at 16:00");
});
