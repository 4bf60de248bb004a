// The notice under the conversation: one message in a customer's words (role="alert"), with at
// most one action button ("Sign in again").
export class Notice {
  constructor(box, text, button) {
    this.box = box;
    this.text = text;
    this.button = button;
  }

  /** Shows `message`; `action` ({label, run}) adds its button. */
  show(message, action) {
    this.text.textContent = message;
    this.button.hidden = !action;
    if (action) {
      this.button.textContent = action.label;
      this.button.onclick = action.run;
    }
    this.box.hidden = false;
  }

  clear() {
    this.box.hidden = true;
    this.text.textContent = "";
  }
}
