// Reading the agent's Server-Sent Events stream as it arrives.
// Bytes are decoded in streaming mode, so a multi-byte character split across network chunks is
// kept whole; events are split on blank lines and only `data:` lines are used.

/** What one SSE `data:` payload from the agent means: {text}, {error}, {confirmation} or {trace} (or nothing). */
export function interpretEvent(data) {
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return {}; // not JSON: nothing a customer should see
  }
  if (typeof value === "string") return { text: value };
  if (value && typeof value === "object") {
    if ("error" in value) return { error: String(value.error) };
    if (value.confirmation && typeof value.confirmation.id === "string") return { confirmation: value.confirmation };
    if (typeof value.turn?.traceId === "string") return { trace: value.turn.traceId }; // feedback.js
    const delta = value.event?.contentBlockDelta?.delta?.text;
    if (typeof delta === "string") return { text: delta };
  }
  return {};
}

/** Splits decoded text into SSE events; `push` returns the complete events' data strings. */
export class SseSplitter {
  constructor() {
    this.buffer = "";
  }

  push(text) {
    this.buffer += text;
    const events = [];
    let boundary;
    while ((boundary = this.buffer.search(/\r?\n\r?\n/)) !== -1) {
      const raw = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
      const data = raw
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) events.push(data);
    }
    return events;
  }

  /** Whatever is left when the stream ends (a last event without its blank line). */
  flush() {
    const rest = this.buffer.trim() ? this.push("\n\n") : [];
    this.buffer = "";
    return rest;
  }
}

/** Reads a fetch() body to its end, calling onEvent({text} | {error} | {confirmation}) in order. */
export async function readEventStream(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  const splitter = new SseSplitter();
  const deliver = (datas) => {
    for (const data of datas) {
      const event = interpretEvent(data);
      if (event.text !== undefined || event.error !== undefined || event.confirmation || event.trace !== undefined) onEvent(event);
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    deliver(splitter.push(decoder.decode(value, { stream: true })));
  }
  deliver(splitter.push(decoder.decode()));
  deliver(splitter.flush());
}
