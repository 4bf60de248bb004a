// node --test app/WebChat/test: the SSE reader on byte streams cut at awkward places.
import { test } from "node:test";
import assert from "node:assert/strict";
import { interpretEvent, readEventStream, SseSplitter } from "../src/stream.js";

function bodyOf(chunks) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(chunks) {
  const events = [];
  await readEventStream(bodyOf(chunks), (e) => events.push(e));
  return events;
}

test("a character split between chunks arrives whole", async () => {
  const bytes = new TextEncoder().encode('data: "Grüße 🎧"\n\n');
  const cut = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
  const events = await collect([bytes.slice(0, 9), bytes.slice(9, cut), bytes.slice(cut)]);
  assert.deepEqual(events, [{ text: "Grüße 🎧" }]);
});

test("events split anywhere, CRLF line ends, and a last event without a blank line", async () => {
  const text = 'data: "one "\r\n\r\ndata: "two"\n\n: comment\n\ndata: {"error": "Sorry"}';
  const bytes = new TextEncoder().encode(text);
  const chunks = [...bytes].map((b) => Uint8Array.of(b)); // one byte at a time
  assert.deepEqual(await collect(chunks), [{ text: "one " }, { text: "two" }, { error: "Sorry" }]);
});

test("event shapes: string, error, Bedrock delta, other objects and non-JSON", () => {
  assert.deepEqual(interpretEvent('"hi"'), { text: "hi" });
  assert.deepEqual(interpretEvent('{"error": "nope"}'), { error: "nope" });
  assert.deepEqual(interpretEvent('{"event": {"contentBlockDelta": {"delta": {"text": "x"}}}}'), { text: "x" });
  assert.deepEqual(interpretEvent('{"event": {"messageStop": {}}}'), {});
  assert.deepEqual(interpretEvent("not json"), {});
});

test("the splitter keeps an unfinished event until its end arrives", () => {
  const splitter = new SseSplitter();
  assert.deepEqual(splitter.push('data: "a'), []);
  assert.deepEqual(splitter.push('"\n'), []);
  assert.deepEqual(splitter.push("\n"), ['"a"']);
});
