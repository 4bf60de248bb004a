// Thumbs up / down on an answer (docs/feedback.md). An answer's stream ends with its trace id
// ({"turn": {"traceId"}}); only then, and only if the answer did not fail, the two buttons appear.
// A click sends {"feedback": {"traceId", "rating"}} to the agent with the same session and the
// in-memory token; the chosen button shows pressed (aria-pressed) once the agent has stored it.
// Choosing the other one replaces the rating.

const CHOICES = [
  { rating: "up", symbol: "👍", label: "Helpful" },
  { rating: "down", symbol: "👎", label: "Not helpful" },
];

/** What the agent's reply to a rating means for the customer: null when stored, else a message. */
export function describeFeedbackReply(status) {
  if (status === 200) return null;
  if (status === 401) return "Please sign in again to rate answers.";
  if (status === 403 || status === 409) return "This answer can no longer be rated.";
  if (status === 429) return "You have rated many answers today; thank you. You can rate again tomorrow.";
  return "Your rating could not be saved. Please try again.";
}

/**
 * The rating controls of one answer item, hidden until `show(traceId)`.
 * `rate(traceId, rating)` sends the rating and resolves to null when stored, else a message.
 */
export class FeedbackControls {
  constructor(item, rate) {
    this.rate = rate;
    this.traceId = null;
    this.group = document.createElement("div");
    this.group.className = "feedback";
    this.group.setAttribute("role", "group");
    this.group.setAttribute("aria-label", "Was this answer helpful?");
    this.group.hidden = true;
    this.buttons = CHOICES.map(({ rating, symbol, label }) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.rating = rating;
      button.textContent = symbol;
      button.setAttribute("aria-label", label);
      button.title = label;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => this.#choose(rating));
      return button;
    });
    this.status = document.createElement("span");
    this.status.className = "feedback-status";
    this.status.setAttribute("role", "status");
    this.group.append(...this.buttons, this.status);
    item.append(this.group);
  }

  /** The answer is complete and rateable: remember its trace id and show the buttons. */
  show(traceId) {
    this.traceId = traceId;
    this.group.hidden = false;
  }

  async #choose(rating) {
    if (!this.traceId) return;
    for (const button of this.buttons) button.disabled = true;
    this.status.textContent = "";
    let problem;
    try {
      problem = await this.rate(this.traceId, rating);
    } catch {
      problem = "Your rating could not be saved. Please try again.";
    }
    for (const button of this.buttons) {
      button.disabled = false;
      if (!problem) button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
    }
    this.status.textContent = problem || "Thank you for your feedback.";
  }
}
