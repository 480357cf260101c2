// newsdesk reading page. Plain JavaScript, no build step.
// Every piece of text from the server (answers, titles, article text) goes into the page as
// text nodes: nothing it sends is ever parsed as HTML.
"use strict";

const KEY_STORAGE = "newsdesk.key"; // sessionStorage only: gone when the tab closes
const READER_STORAGE = "newsdesk.reader";
// The same marker grammar as the server's citation checks: [1], [1, 3], [2-4].
const MARKER = /\[\s*(\d+(?:\s*[-–]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–]\s*\d+)?)*)\s*\]/g;


const $ = (id) => document.getElementById(id);
const state = { asked: null, answer: null, sources: [], text: "", pending: null, controller: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// -- keys and requests -------------------------------------------------------------------------

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function reader() {
  let token = sessionStorage.getItem(READER_STORAGE);
  if (!token) {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(READER_STORAGE, token);
  }
  return token;
}

class Problem extends Error {
  constructor(body) {
    super(body.detail || body.title || "The request failed.");
    this.body = body;
  }
}

async function problemOf(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (typeof body !== "object" || body === null) body = {};
  return new Problem({
    title: body.title || `HTTP ${response.status}`,
    detail: body.detail || response.statusText || "The server gave no details.",
    status: body.status || response.status,
    type: body.type || "",
    request_id: body.request_id || response.headers.get("X-Request-ID") || "",
  });
}

function needsKey(problem) {
  return problem.body.status === 401;
}

function askForKey(retry) {
  sessionStorage.removeItem(KEY_STORAGE); // refused: unknown, revoked or mistyped
  state.pending = retry;
  $("key-form").hidden = false;
  $("api-key").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("api-key").value = "";
  $("key-form").hidden = true;
  const retry = state.pending;
  state.pending = null;
  if (retry) retry();
});

// -- asking ------------------------------------------------------------------------------------

function filters() {
  const out = {};
  const after = $("published-after").value;
  const before = $("published-before").value;
  const outlets = $("outlets").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (after) out.published_after = after;
  if (before) out.published_before = before;
  if (outlets.length) out.sources = outlets;
  return Object.keys(out).length ? out : null;
}

function collection() {
  return $("collection").value.trim();
}

$("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) {
    $("question").focus();
    return;
  }
  ask(question, filters(), collection());
});

async function ask(question, chosenFilters, chosenCollection) {
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  state.asked = { question, filters: chosenFilters, collection: chosenCollection };
  state.answer = null;
  state.sources = [];
  state.text = "";
  resetResult();
  setBusy(true, "Searching the articles…");

  const body = { question, stream: true };
  if (chosenFilters) body.filters = chosenFilters;
  if (chosenCollection) body.collection = chosenCollection;
  try {
    const response = await fetch("/v1/ask", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) throw await problemOf(response);
    await readEvents(response, controller);
    if (!state.answer && !controller.signal.aborted) {
      throw new Problem({ title: "Incomplete answer", detail: "The connection closed before the answer was complete." });
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error instanceof Problem && needsKey(error)) {
      setBusy(false, "");
      showProblem(error.body);
      askForKey(() => ask(question, chosenFilters, chosenCollection));
      return;
    }
    showProblem(error instanceof Problem ? error.body : { title: "Network error", detail: "The server could not be reached." });
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
}

async function readEvents(response, controller) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (controller.signal.aborted) return;
      handleEvent(block);
    }
  }
}

function handleEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return;
  const payload = JSON.parse(data.join("\n"));
  if (name === "sources") {
    state.sources = payload.sources;
    renderSources(payload.sources, []);
    setBusy(true, "Writing the answer…");
  } else if (name === "delta") {
    state.text = payload.replace ? payload.text : state.text + payload.text;
    if (payload.replace) $("status").textContent = "The model stopped; answering from the sources instead…";
    $("answer").replaceChildren(document.createTextNode(state.text));
  } else if (name === "done") {
    state.answer = payload;
    renderAnswer(payload);
  } else if (name === "error") {
    throw new Problem(payload);
  }
}

// -- rendering the answer ---------------------------------------------------------------------

function resetResult() {
  $("result").hidden = false;
  $("problem").hidden = true;
  $("problem").replaceChildren();
  $("marks").replaceChildren();
  $("warnings").replaceChildren();
  $("answer").replaceChildren();
  $("sources").replaceChildren();
  $("feedback").hidden = true;
  $("feedback-status").textContent = "";
  for (const button of document.querySelectorAll("#feedback button")) {
    button.setAttribute("aria-pressed", "false");
    button.disabled = false;
  }
  closeArticle(false);
}

function setBusy(busy, message) {
  $("result").setAttribute("aria-busy", busy ? "true" : "false");
  $("ask-button").disabled = busy;
  if (message !== undefined) $("status").textContent = message;
}

function showProblem(problem) {
  const box = $("problem");
  box.replaceChildren(
    el("p", { class: "problem-title" }, problem.title || "Error"),
    el("p", {}, problem.detail || ""),
  );
  if (problem.request_id) box.append(el("p", { class: "meta" }, `Request id: ${problem.request_id}`));
  box.hidden = false;
  $("status").textContent = "";
}

function mark(kind, label, detail) {
  const item = el("li", { class: `mark mark-${kind}`, "data-mark": kind }, el("strong", {}, label));
  if (detail) item.append(" ", detail);
  $("marks").append(item);
}

function renderAnswer(answer) {
  $("status").textContent = "";
  if (!answer.answerable) {
    mark("refusal", "Not found.", "Nothing indexed answers this question; no sources are cited.");
  }
  if (answer.degraded) {
    mark("degraded", "Degraded.", `The language model was unavailable, so this answer is taken from the sources. ${answer.degraded_reason || ""}`.trim());
  } else if (answer.mode === "extractive" && answer.answerable) {
    mark("extractive", "Extractive.", "Sentences quoted from the sources, without a language model.");
  }
  // The server finds disagreements among the cited sources in either mode (answer.conflicts).
  if (answer.answerable && (answer.conflicts || []).length) {
    mark("conflict", "Sources disagree.", answer.conflicts.join(" "));
  }
  const corroborated = answer.sources.filter((s) => s.corroborations > 0);
  if (corroborated.length) {
    const copies = corroborated.reduce((sum, s) => sum + s.corroborations, 0);
    mark("corroboration", "Corroborated.", `${copies} more ${copies === 1 ? "outlet carries" : "outlets carry"} the same text as ${corroborated.length === 1 ? "one source" : `${corroborated.length} sources`}.`);
  }
  $("answer").replaceChildren(...answerNodes(answer.answer, answer.sources.length));
  for (const warning of answer.warnings) $("warnings").append(el("li", {}, warning));
  // A refusal's retrieved articles were not relevant enough to answer from: not listed.
  renderSources(answer.answerable ? answer.sources : [], answer.citations);
  $("feedback").hidden = false;
}

function numbers(body) {
  const out = [];
  for (const part of body.split(/[,;]/)) {
    const bounds = part.split(/[-–]/).map((x) => parseInt(x.trim(), 10)).filter((x) => !Number.isNaN(x));
    if (bounds.length === 2) {
      const [low, high] = [Math.min(...bounds), Math.max(...bounds)];
      for (let n = low; n <= Math.min(high, low + 49); n++) out.push(n);
    } else if (bounds.length === 1) out.push(bounds[0]);
  }
  return out;
}

function answerNodes(text, sourceCount) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(MARKER)) {
    nodes.push(document.createTextNode(text.slice(last, match.index)));
    const marker = el("span", { class: "marker" }, "[");
    numbers(match[1]).forEach((n, i) => {
      if (i) marker.append(", ");
      if (n >= 1 && n <= sourceCount) marker.append(citeLink(n));
      else marker.append(String(n));
    });
    marker.append("]");
    nodes.push(marker);
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function citeLink(n) {
  const source = state.sources[n - 1] || {};
  return el("a", {
    href: `#source-${n}`, class: "cite", "data-n": String(n),
    "aria-label": `Source ${n}: ${source.title || "untitled"}`,
    onclick: (event) => {
      event.preventDefault();
      openSource(n);
    },
  }, String(n));
}

function renderSources(sources, citations) {
  const list = $("sources");
  list.replaceChildren();
  $("sources-heading").hidden = !sources.length;
  for (const source of sources) {
    const quoted = citations.filter((c) => c.n === source.n).length;
    const meta = [source.source, source.published_at ? source.published_at.slice(0, 10) : null].filter(Boolean).join(" · ");
    const item = el("li", { id: `source-${source.n}`, value: String(source.n) },
      el("button", { type: "button", class: "source-open", onclick: () => openSource(source.n) }, source.title || source.article_id),
      el("span", { class: "meta" }, meta ? ` ${meta}` : ""),
    );
    if (quoted) item.append(el("span", { class: "badge" }, quoted === 1 ? "quoted" : `quoted ${quoted}×`));
    if (source.corroborations > 0) {
      const names = source.corroborated_by.map((c) => c.source || c.title).filter(Boolean);
      item.append(el("p", { class: "corroboration" },
        `Also carried by ${source.corroborations} other ${source.corroborations === 1 ? "outlet" : "outlets"}${names.length ? `: ${names.join(", ")}` : ""}.`));
    }
    list.append(item);
  }
}

// -- reading a source --------------------------------------------------------------------------

function articleUrl(articleId) {
  const chosen = state.asked && state.asked.collection;
  return `/v1/articles/${encodeURIComponent(articleId)}${chosen ? `?collection=${encodeURIComponent(chosen)}` : ""}`;
}

async function openSource(n) {
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
  if (article.url) {
    $("article-meta").append(meta ? " · " : "", el("a", { href: article.url, rel: "noopener noreferrer" }, "original"));
  }
  $("article-note").textContent = quoteCount
    ? `Source [${source.n}]: ${quoteCount === 1 ? "the quoted passage is" : `the ${quoteCount} quoted passages are`} highlighted.`
    : `Source [${source.n}]: the passage the answer was written from is highlighted.`;

  const text = article.text;
  const ordered = spans
    .filter((s) => s.start >= 0 && s.end <= text.length && s.start < s.end)
    .sort((a, b) => a.start - b.start);
  const container = $("article-text");
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
  container.replaceChildren(...nodes);
  const first = container.querySelector("mark");
  if (first) {
    reveal(first);
    first.focus({ preventScroll: true });
  } else {
    $("article-title").focus();
  }
}

// Beside the answer the panel scrolls on its own: scroll it, not the page, so the question and
// the answer stay where the reader left them; the page moves only when the quote cannot be
// brought into the part of the panel on screen. Stacked (narrow screens), scroll the page.
function reveal(node) {
  const panel = $("article");
  if (panel.scrollHeight > panel.clientHeight + 1 && getComputedStyle(panel).overflowY !== "visible") {
    const frame = panel.getBoundingClientRect();
    const top = Math.max(frame.top, 0);
    const bottom = Math.min(frame.bottom, window.innerHeight);
    const box = node.getBoundingClientRect();
    panel.scrollTop += box.top - (top + Math.max(0, (bottom - top - box.height) / 3));
    const after = node.getBoundingClientRect();
    if (after.top < 0 || after.bottom > window.innerHeight) node.scrollIntoView({ block: "nearest" });
  } else {
    node.scrollIntoView({ block: "center" });
  }
}

function closeArticle(returnFocus = true) {
  $("article").hidden = true;
  $("article-text").replaceChildren();
  if (returnFocus) {
    const answer = $("answer").querySelector("a.cite");
    (answer || $("question")).focus();
  }
}

$("article-close").addEventListener("click", () => closeArticle());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("article").hidden) closeArticle();
});

// -- feedback ----------------------------------------------------------------------------------

async function vote(choice) {
  const answer = state.answer;
  if (!answer || !state.asked) return;
  const body = {
    request_id: answer.request_id, vote: choice, question: state.asked.question, answer: answer.answer,
    answerable: answer.answerable, citations: answer.citations, reader: reader(),
  };
  if (state.asked.filters) body.filters = state.asked.filters;
  $("feedback-status").textContent = "Sending…";
  try {
    const query = state.asked.collection ? `?collection=${encodeURIComponent(state.asked.collection)}` : "";
    const response = await fetch(`/v1/feedback${query}`, {
      method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
    if (!response.ok) throw await problemOf(response);
    for (const button of document.querySelectorAll("#feedback button")) {
      button.setAttribute("aria-pressed", button.dataset.vote === choice ? "true" : "false");
    }
    $("feedback-status").textContent = `Thanks, your ${choice === "up" ? "👍" : "👎"} was recorded.`;
  } catch (error) {
    if (error instanceof Problem && needsKey(error)) askForKey(() => vote(choice));
    const problem = error instanceof Problem ? error.body : { title: "Network error", detail: "The vote was not sent." };
    $("feedback-status").textContent = `Not recorded: ${problem.detail}`;
  }
}

$("vote-up").addEventListener("click", () => vote("up"));
$("vote-down").addEventListener("click", () => vote("down"));
