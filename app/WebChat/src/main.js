// The web chat: who is signed in, the conversation, and the composer.
import { createUserManager, displayName, signOut } from "./auth.js";
import { closeConfirmations, confirmationsOpen, showConfirmation } from "./confirm.js";
import { describeFeedbackReply } from "./feedback.js";
import { describeTooManyRequests } from "./limits.js";
import { Notice } from "./notice.js";
import { readEventStream } from "./stream.js";
import { Transcript } from "./transcript.js";

const SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id";
const $ = (id) => document.getElementById(id);
const ui = {
  who: $("who"),
  signIn: $("sign-in"),
  signOut: $("sign-out"),
  newConversation: $("new-conversation"),
  transcript: new Transcript($("transcript"), $("conversation"), (traceId, rating) => rate(traceId, rating)),
  notice: new Notice($("notice"), $("notice-text"), $("notice-action")),
  composer: $("composer"),
  message: $("message"),
  send: $("send"),
};

let config;
let manager;
let user = null;
let conversationId = newConversationId();
let sending = false;
let inFlight = null; // the AbortController of the answer being read, if any

function newConversationId() {
  return crypto.randomUUID(); // 36 characters: AgentCore wants at least 33
}

const notify = (text, action) => ui.notice.show(text, action);
const signInAgain = (label = "Sign in again") => ({ label, run: () => startSignIn() });

// -- account ---------------------------------------------------------------------------------
function showUser() {
  const signedIn = Boolean(user && !user.expired);
  ui.who.textContent = signedIn ? `Signed in as ${displayName(user)}` : "Not signed in";
  ui.signIn.hidden = signedIn;
  ui.signOut.hidden = !signedIn;
  ui.newConversation.hidden = !signedIn;
}

async function startSignIn() {
  // Only the draft and the conversation id ride along the redirect (in oidc-client-ts's
  // transient sign-in state); the conversation continues if the same person signs back in.
  const draft = ui.message.value;
  const previous = user?.profile?.sub;
  await manager.signinRedirect({ state: { draft, conversationId, sub: previous } });
}

async function finishSignIn() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("code") && !url.searchParams.has("error")) return;
  try {
    user = await manager.signinRedirectCallback(url.toString());
    const state = user.state || {};
    if (state.draft) ui.message.value = state.draft;
    if (state.conversationId && state.sub && state.sub === user.profile.sub) {
      conversationId = state.conversationId;
    }
  } catch {
    notify("Sign-in did not complete. Please try again.", signInAgain("Sign in"));
  } finally {
    window.history.replaceState(null, "", url.pathname); // no code or state left in the URL
  }
}

// -- conversation ----------------------------------------------------------------------------
function startNewConversation() {
  forgetConversation();
  ui.message.focus();
}

/** Takes the conversation off the page: new conversation, sign-out, and leaving the page. */
function forgetConversation() {
  inFlight?.abort();
  conversationId = newConversationId();
  ui.transcript.clear();
  ui.notice.clear();
}

async function currentAccessToken() {
  if (!user) return null;
  const margin = config.refreshSecondsBeforeExpiry ?? 60;
  if (user.expires_in !== undefined && user.expires_in <= Math.min(margin, 5) && user.refresh_token) {
    try {
      user = await manager.signinSilent(); // refresh before sending with a token about to expire
    } catch {
      return null;
    }
  }
  return user && !user.expired ? user.access_token : null;
}

async function send(text) {
  const token = await currentAccessToken();
  if (!token) {
    ui.message.value = text;
    notify("Please sign in to chat with us.", signInAgain(user ? "Sign in again" : "Sign in"));
    return;
  }
  closeConfirmations();
  ui.transcript.addUser(text);
  await ask({ prompt: text, can_confirm: true }, text, token);
}

/** The customer's choice on a confirmation request: the structured payload, same session. */
async function decide(id, approve) {
  if (sending) return;
  sending = true;
  ui.send.disabled = true;
  try {
    const token = await currentAccessToken();
    if (!token) return notify("Please sign in again to confirm; nothing was done.", signInAgain());
    await ask({ confirm: { id, approve } }, "", token);
  } finally {
    sending = false;
    ui.send.disabled = false;
  }
}

async function ask(payload, text, token) {
  const answer = ui.transcript.addAnswer();
  const controller = new AbortController();
  inFlight = controller;
  try {
    await exchange(payload, text, token, answer, controller.signal);
  } finally {
    if (inFlight === controller) inFlight = null;
  }
}

async function exchange(payload, text, token, answer, signal) {
  let response;
  try {
    response = await fetch(config.endpoint, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "text/event-stream",
        [SESSION_HEADER]: conversationId,
      },
      body: JSON.stringify(payload),
      credentials: "omit",
      referrerPolicy: "no-referrer",
      signal,
    });
  } catch {
    if (signal.aborted) return answer.remove(); // the page was left or the conversation reset
    return failed(answer, text, "We couldn't reach customer support. Check your connection, then press Send to try again.");
  }
  if (response.status === 401 || response.status === 403) {
    return failed(answer, text, "Your sign-in has expired or was not accepted. Please sign in again; your message is kept.", signInAgain());
  }
  if (response.status === 429) {
    const body = await response.json().catch(() => ({}));
    return failed(answer, text, describeTooManyRequests(body, response.headers.get("Retry-After")).text);
  }
  if (!response.ok || !response.body) {
    return failed(answer, text, "Something went wrong on our side. Please press Send to try again.");
  }
  try {
    await readEventStream(response.body, (event) => {
      if (event.text !== undefined) answer.append(event.text); // shown as it arrives
      else if (event.error !== undefined) answer.fail(event.error);
      else if (event.confirmation) showConfirmation(answer.item, event.confirmation, decide);
      else if (event.trace !== undefined) answer.traced(event.trace);
    });
  } catch {
    if (signal.aborted) return undefined; // the transcript is gone already
    answer.item.classList.add("failed");
    notify("The answer was cut off. Please press Send to ask again.");
    ui.message.value = text;
  } finally {
    answer.finish();
  }
  return undefined;
}

/** Sends a rating of the answer with `traceId` (this conversation); null when stored, else a message. */
async function rate(traceId, rating) {
  const token = await currentAccessToken();
  if (!token) return describeFeedbackReply(401);
  const response = await fetch(config.endpoint, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", [SESSION_HEADER]: conversationId },
    body: JSON.stringify({ feedback: { traceId, rating } }),
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  return describeFeedbackReply(response.status);
}

function failed(answer, text, message, action) {
  if (text) answer.item.previousElementSibling?.remove(); // the user's line: it was not delivered
  answer.remove();
  if (text) ui.message.value = text; // keep what the customer typed
  notify(message, action);
}

async function onSubmit(event) {
  event.preventDefault();
  const text = ui.message.value.trim();
  if (!text || sending) return;
  sending = true;
  ui.send.disabled = true;
  ui.notice.clear();
  ui.message.value = "";
  try {
    await send(text);
  } finally {
    sending = false;
    ui.send.disabled = false;
    if (!confirmationsOpen()) ui.message.focus(); // else focus stays on the request
  }
}

// -- start -----------------------------------------------------------------------------------
async function main() {
  const answer = await fetch("config.json", { cache: "no-store", credentials: "omit" });
  config = await answer.json();
  manager = createUserManager(config);
  manager.events.addUserLoaded((loaded) => {
    user = loaded; // also after each refresh: the new access and refresh tokens
    showUser();
  });
  manager.events.addUserUnloaded(() => {
    user = null;
    forgetConversation();
    showUser();
  });
  manager.events.addSilentRenewError(() => {
    notify("Your sign-in has ended. Please sign in again to keep chatting.", signInAgain());
  });
  ui.signIn.onclick = () => startSignIn();
  ui.signOut.onclick = () => {
    forgetConversation();
    return signOut(manager, config);
  };
  ui.newConversation.onclick = startNewConversation;
  ui.composer.addEventListener("submit", onSubmit);
  ui.message.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  // pagehide, not unload or visibilitychange: it fires on every way out, including into the
  // back/forward cache (a page kept there must not keep the conversation), and not when the
  // customer merely switches tabs.
  window.addEventListener("pagehide", forgetConversation);
  await finishSignIn();
  showUser();
  document.body.dataset.ready = "true";
}

main().catch(() => notify("The chat could not start. Please reload the page."));
