// The conversation on screen. Each message is a list item that starts with its author in words
// ("You:", "Support agent:"), visually hidden, so assistive technology tells the customer's lines
// from the agent's (WCAG 1.3.1); the list sits in a role="log" region, read out politely.
//
// An answer is re-rendered whole from the text received so far (never appended to): a piece that
// arrives mid-way through a markdown construct (`**bo`) renders correctly once the rest comes, and
// nothing is shown twice. Renders are coalesced to one per network chunk (a microtask), not one
// per event. While an answer streams the log is aria-busy, so a screen reader reads it once, whole.
// Per-answer controls (feedback on a turn) belong in addAnswer's item, after its body.
import { FeedbackControls } from "./feedback.js";
import { renderMarkdown } from "./render.js";

const AUTHORS = { user: "You:", assistant: "Support agent:" };

export class Transcript {
  /** `list`: the <ol> of messages; `log`: its role="log" region; `rate`: see FeedbackControls. */
  constructor(list, log, rate = null) {
    this.list = list;
    this.log = log;
    this.rate = rate;
  }

  /** A new message item of `role`, with its hidden author label and an empty body. */
  #add(role) {
    const item = document.createElement("li");
    item.className = role;
    item.dataset.role = role;
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = `${AUTHORS[role]} `;
    const body = document.createElement("div");
    body.className = "body";
    item.append(author, body);
    this.list.append(item);
    item.scrollIntoView({ block: "end" });
    return { item, body };
  }

  /** The customer's message, as plain text. */
  addUser(text) {
    const { item, body } = this.#add("user");
    body.textContent = text;
    return item;
  }

  /** An answer about to stream in; see Answer. */
  addAnswer() {
    const { item, body } = this.#add("assistant");
    item.setAttribute("aria-busy", "true");
    this.log.setAttribute("aria-busy", "true");
    const answer = new Answer(item, body, () => this.log.removeAttribute("aria-busy"));
    if (this.rate) answer.feedback = new FeedbackControls(item, this.rate); // shown by answer.traced()
    return answer;
  }

  /** Removes every message (a new conversation, sign-out, leaving the page). */
  clear() {
    this.list.replaceChildren();
    this.log.removeAttribute("aria-busy");
  }
}

/** One streamed answer: its markdown text so far, and an error line if the turn failed. */
class Answer {
  constructor(item, body, settled) {
    this.item = item;
    this.body = body;
    this.settled = settled;
    this.text = "";
    this.scheduled = false;
    this.feedback = null; // FeedbackControls, when ratings are on
  }

  /** Adds a piece of the answer; it is shown (rendered) before the next chunk is read. */
  append(piece) {
    this.text += piece;
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.#render();
    });
  }

  /** Shows `message` (plain text) after whatever arrived, marked as failed. */
  fail(message) {
    this.item.classList.add("failed");
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = message;
    this.item.append(line);
  }

  /** The stream named the turn's trace id: offer rating it, unless the answer failed. */
  traced(traceId) {
    if (this.feedback && !this.item.classList.contains("failed")) this.feedback.show(traceId);
  }

  /** The answer is complete (or cut off): render what came and leave the busy state. */
  finish() {
    this.#render();
    this.item.removeAttribute("aria-busy");
    this.settled();
  }

  /** Takes the answer off the screen (it never started). */
  remove() {
    this.item.remove();
    this.settled();
  }

  #render() {
    if (this.item.isConnected) renderMarkdown(this.body, this.text);
  }
}
