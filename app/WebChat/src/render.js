// An answer's markdown as safe DOM: marked turns it into HTML, DOMPurify keeps only an allow-list
// of elements and attributes. An answer is text a model chose, possibly steered by a web page it
// read, so it is treated as hostile:
// - raw HTML in the markdown is shown as text, never parsed as markup;
// - links keep only http(s) and mailto targets (no javascript:, data:, relative or other schemes)
//   and open in a new tab with rel="noopener noreferrer";
// - images become links: the page loads nothing a model names (and its CSP would refuse them).
import DOMPurify from "dompurify";
import { Marked } from "marked";

const ALLOWED_TAGS = [
  "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
  "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
];
const ALLOWED_ATTR = ["href", "title", "start", "align"];
const SAFE_URL = /^(?:https?:|mailto:)/i;

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

let markdown;
let purify;

function setUp() {
  markdown = new Marked({
    gfm: true,
    breaks: true, // a line break in an answer stays a line break, as when answers were plain text
    async: false,
    renderer: {
      // Raw HTML, inline or a block of it, is shown as the text it is.
      html: ({ text, block }) => (block ? `<p>${escapeHtml(text.trim()).replace(/\n/g, "<br>")}</p>` : escapeHtml(text)),
      image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    },
  });
  purify = DOMPurify(window); // an instance of its own: the hook below applies to answers only
  purify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
}

/** Replaces `element`'s content with `text` rendered as sanitised markdown. */
export function renderMarkdown(element, text) {
  if (!markdown) setUp();
  const fragment = purify.sanitize(markdown.parse(text), {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: SAFE_URL,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  element.replaceChildren(fragment);
}
