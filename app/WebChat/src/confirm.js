// A confirmation request under the answer that asked for it (docs/confirmations.md): the exact
// action in words, and real Confirm / Cancel buttons. The request's id lives only in this closure
// (never in storage or the URL); a choice is sent once, by `decide`, as the structured payload.
// Focus moves to the request (a labelled group), not to a button: an Enter meant for the composer
// must never confirm anything.

const money = (amount) =>
  typeof amount === "number" ? amount.toLocaleString(undefined, { style: "currency", currency: "USD" }) : String(amount);

/** The action in a customer's words (plain text). */
export function describeAction(action) {
  const a = action || {};
  if (a.tool === "start_return") {
    const quantity = a.quantity ? `, quantity ${a.quantity}` : "";
    const refund = a.refund_amount !== undefined ? `: refund ${money(a.refund_amount)} to your ${a.refund_path || "original payment method"}` : "";
    return `Start a return for order ${a.order_id}, line ${a.line ?? 1}${quantity}${refund}.`;
  }
  if (a.tool === "create_support_ticket") {
    const about = a.order_id ? ` about order ${a.order_id}` : "";
    return `Open a support ticket${about} for a person to follow up: “${a.summary ?? ""}”`;
  }
  return `Run “${a.tool}”.`;
}

let counter = 0;
const open = new Set(); // requests still waiting for a choice on this page

/** Shows `request` ({id, action, expires_in_seconds}) in `item`; `decide(id, approve)` sends the choice. */
export function showConfirmation(item, request, decide) {
  const n = ++counter;
  const box = document.createElement("div");
  box.className = "confirmation";
  box.setAttribute("role", "group");
  box.setAttribute("aria-labelledby", `confirm-title-${n}`);
  box.setAttribute("aria-describedby", `confirm-action-${n}`);
  box.tabIndex = -1;
  const title = document.createElement("p");
  title.id = `confirm-title-${n}`;
  title.className = "confirm-title";
  title.textContent = "Please confirm this action";
  const what = document.createElement("p");
  what.id = `confirm-action-${n}`;
  what.textContent = describeAction(request.action);
  const status = document.createElement("p");
  status.className = "confirm-status";
  status.setAttribute("aria-live", "polite");
  const yes = button("Confirm", `confirm-action-${n}`);
  const no = button("Cancel", `confirm-action-${n}`);
  const buttons = document.createElement("div");
  buttons.className = "confirm-buttons";
  buttons.append(yes, no);
  box.append(title, what, buttons, status);
  item.append(box);

  const state = { close: (message) => close(message) };
  const close = (message) => {
    open.delete(state);
    yes.disabled = true;
    no.disabled = true;
    clearTimeout(timer);
    if (message) status.textContent = message;
  };
  const timer = setTimeout(() => close("This request expired. Nothing was done."), (request.expires_in_seconds || 0) * 1000);
  const choose = (approve) => {
    close(approve ? "Confirmed." : "Cancelled. Nothing was done.");
    decide(request.id, approve);
  };
  yes.onclick = () => choose(true);
  no.onclick = () => choose(false);
  open.add(state);
  box.focus();
}

/** Whether a request waits for the customer's choice. */
export const confirmationsOpen = () => open.size > 0;

/** A new message supersedes every waiting request (the agent drops them too). */
export function closeConfirmations(message = "Replaced by your new message. Nothing was done.") {
  for (const state of [...open]) state.close(message);
}

function button(label, describedBy) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-describedby", describedBy);
  return b;
}
