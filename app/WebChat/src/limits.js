// What a 429 from the front door means for the customer: a short throttle ("a moment") or the
// daily quota (say when they can write again).
//
// The two front doors answer alike: API Gateway's usage plan sends {"message": "Too Many Requests"}
// for the throttle and {"message": "Limit Exceeded"} for the quota (its own words, no wait time);
// the local twin (scripts/localdev/frontdoor.py) sends the same messages plus `retryAfterSeconds`
// and a Retry-After header. So the message names the kind, and a wait longer than
// LONG_WAIT_SECONDS counts as the quota whatever the message says (a customer cannot "wait a
// moment" for an hour).
export const LONG_WAIT_SECONDS = 60;
const QUOTA_MESSAGE = "Limit Exceeded";
const THROTTLED =
  "You're sending messages faster than we can answer. Please wait a moment, then press Send again.";

/** Seconds to wait from the JSON body's retryAfterSeconds or a Retry-After header (seconds or date). */
export function retryAfterSeconds(body, header, now = Date.now()) {
  const stated = Number(body?.retryAfterSeconds);
  if (Number.isFinite(stated) && stated > 0) return stated;
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - now) / 1000));
}

/**
 * The notice for a 429: {kind: "throttle" | "quota", text}. `zone` and `locale` default to the
 * browser's own (the customer's local time); tests pin them.
 */
export function describeTooManyRequests(body, header, { now = Date.now(), locale, zone } = {}) {
  const seconds = retryAfterSeconds(body, header, now);
  const quota = body?.message === QUOTA_MESSAGE || (seconds !== null && seconds > LONG_WAIT_SECONDS);
  if (!quota) return { kind: "throttle", text: THROTTLED };
  const limit = body?.message === QUOTA_MESSAGE ? "today's message limit" : "the message limit for now";
  if (seconds === null) {
    // API Gateway does not say when its daily quota resets: no time is better than a wrong one.
    return { kind: "quota", text: `You've reached ${limit}. It resets once a day; please come back later.` };
  }
  const when = formatWhen(new Date(now + seconds * 1000), new Date(now), locale, zone);
  return { kind: "quota", text: `You've reached ${limit}. You can write again ${when}.` };
}

/** "at 14:05", "tomorrow at 01:00" or "on Fri 4 Dec at 09:30", in `zone` (default: local). */
export function formatWhen(at, now, locale, zone) {
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  const day = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone });
  const date = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", timeZone: zone });
  const clock = time.format(at);
  if (day.format(at) === day.format(now)) return `at ${clock}`;
  if (day.format(at) === day.format(new Date(now.getTime() + 86_400_000))) return `tomorrow at ${clock}`;
  return `on ${date.format(at)} at ${clock}`;
}
