// The article reader: a cited source opens beside the answer with the quoted spans (or the
// passage the answer was written from) highlighted, at the exact offsets the server gave.
import { $, el } from "./dom.js";
import { askForKey, headers } from "./keys.js";
import { Problem, needsKey, problemOf } from "./problems.js";
import { state } from "./state.js";

function articleUrl(articleId) {
  const chosen = state.asked && state.asked.collection;
  return `/v1/articles/${encodeURIComponent(articleId)}${chosen ? `?collection=${encodeURIComponent(chosen)}` : ""}`;
}

export async function openSource(n) {
  const source = state.sources[n - 1];
  if (!source) return;
  const citations = state.answer ? state.answer.citations.filter((c) => c.n === n) : [];
  // The quotes the answer relies on; without one, the passage the answer was written from.
  const spans = citations.length
    ? citations.map((c) => ({ start: c.start, end: c.end, kind: "quote" }))
    : [{ start: source.start, end: source.end, kind: "passage" }];
  const panel = $("article");
  panel.hidden = false;
  panel.setAttribute("aria-busy", "true");
  $("article-title").textContent = source.title || source.article_id;
  $("article-meta").textContent = "";
  $("article-note").textContent = "Loading the article…";
  $("article-text").replaceChildren();
  try {
    const response = await fetch(articleUrl(source.article_id), { headers: headers({ Accept: "application/json" }) });
    if (!response.ok) throw await problemOf(response);
    const article = await response.json();
    renderArticle(article, source, spans, citations.length);
  } catch (error) {
    const problem = error instanceof Problem ? error.body : { title: "Network error", detail: "The article could not be loaded." };
    if (error instanceof Problem && needsKey(error)) askForKey(() => openSource(n));
    $("article-note").textContent = `${problem.title}: ${problem.detail}`;
  } finally {
    panel.setAttribute("aria-busy", "false");
  }
}

function renderArticle(article, source, spans, quoteCount) {
  $("article-title").textContent = article.title;
  const meta = [article.source, article.author, article.published_at ? article.published_at.slice(0, 10) : null]
    .filter(Boolean).join(" · ");
  $("article-meta").replaceChildren(meta);
  if (article.url && /^https?:\/\//i.test(article.url)) {  // only http(s) is ever linked
    $("article-meta").append(meta ? " · " : "", el("a", { href: article.url, rel: "noopener noreferrer" }, "original"));
  }
  $("article-note").textContent = quoteCount
    ? `Source [${source.n}]: ${quoteCount === 1 ? "the quoted passage is" : `the ${quoteCount} quoted passages are`} highlighted.`
    : `Source [${source.n}]: the passage the answer was written from is highlighted.`;
  const container = $("article-text");
  container.replaceChildren(...highlightedText(article.text, spans));
  const first = container.querySelector("mark");
  if (first) {
    reveal(first);
    first.focus({ preventScroll: true });
  } else {
    $("article-title").focus();
  }
}

// The article's text as nodes, each span that fits the text in a <mark>.
function highlightedText(text, spans) {
  const ordered = spans
    .filter((s) => s.start >= 0 && s.end <= text.length && s.start < s.end)
    .sort((a, b) => a.start - b.start);
  const nodes = [];
  let last = 0;
  for (const span of ordered) {
    const start = Math.max(span.start, last); // overlapping quotes: highlight the union once
    if (start >= span.end) continue;
    nodes.push(document.createTextNode(text.slice(last, start)));
    nodes.push(el("mark", { class: `highlight highlight-${span.kind}`, tabindex: "-1", "data-start": String(start), "data-end": String(span.end) },
      text.slice(start, span.end)));
    last = span.end;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

// Beside the answer the panel scrolls on its own: scroll it, not the page, so the question and
// the answer stay where the reader left them; the page moves only when the quote cannot be
// brought into the part of the panel on screen. Stacked (narrow screens), scroll the page.
function reveal(node) {
  const panel = $("article");
  if (panel.scrollHeight > panel.clientHeight + 1 && getComputedStyle(panel).overflowY !== "visible") {
    const frame = panel.getBoundingClientRect();
    // Below the sticky bar (headline and Close article), which covers the panel's top.
    const top = Math.max(frame.top, 0) + $("article").querySelector(".article-bar").offsetHeight;
    const bottom = Math.min(frame.bottom, window.innerHeight);
    const box = node.getBoundingClientRect();
    panel.scrollTop += box.top - (top + Math.max(0, (bottom - top - box.height) / 3));
    const after = node.getBoundingClientRect();
    if (after.top < 0 || after.bottom > window.innerHeight) node.scrollIntoView({ block: "nearest" });
  } else {
    node.scrollIntoView({ block: "center" });
  }
}

export function closeArticle(returnFocus = true) {
  $("article").hidden = true;
  $("article-text").replaceChildren();
  if (returnFocus) {
    const answer = $("answer").querySelector("a.cite");
    (answer || $("question")).focus();
  }
}

export function initArticle() {
  $("article-close").addEventListener("click", () => closeArticle());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("article").hidden) closeArticle();
  });
}
