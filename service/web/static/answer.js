// The result panel: its busy state and status line, a problem in place of an answer, and the
// finished answer with its marks (refusal, degraded, extractive, conflict, corroboration).
import { closeArticle } from "./article.js";
import { answerNodes, renderSources } from "./citations.js";
import { $, el } from "./dom.js";
import { offerFeedback, resetFeedback } from "./feedback.js";
import { offerFollow, resetFollow } from "./follow.js";
import { renderTimeline, timelineHeading } from "./timeline.js";

export function resetResult() {
  $("result").hidden = false;
  $("problem").hidden = true;
  $("problem").replaceChildren();
  $("marks").replaceChildren();
  $("warnings").replaceChildren();
  $("answer").replaceChildren();
  $("sources").replaceChildren();
  resetFeedback();
  resetFollow();
  renderTimeline(null);
  closeArticle(false);
}

export function setBusy(busy, message) {
  $("result").setAttribute("aria-busy", busy ? "true" : "false");
  $("ask-button").disabled = busy;
  if (message !== undefined) $("status").textContent = message;
}

export function showProblem(problem) {
  const box = $("problem");
  box.replaceChildren(
    el("p", { class: "problem-title" }, problem.title || "Error"),
    el("p", {}, problem.detail || ""),
  );
  if (problem.request_id) box.append(el("p", { class: "meta" }, `Request id: ${problem.request_id}`));
  box.hidden = false;
  $("status").textContent = "";
}

// The answer so far, while it streams in: plain text, markers not linked yet.
export function showDraft(text) {
  $("answer").replaceChildren(document.createTextNode(text));
}

function mark(kind, label, detail) {
  const item = el("li", { class: `mark mark-${kind}`, "data-mark": kind }, el("strong", {}, label));
  if (detail) item.append(" ", detail);
  $("marks").append(item);
}

function markAnswer(answer) {
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
  // A refusal lists no sources, so nothing it could say is corroborated.
  const corroborated = answer.answerable ? answer.sources.filter((s) => s.corroborations > 0) : [];
  if (corroborated.length) {
    const copies = corroborated.reduce((sum, s) => sum + s.corroborations, 0);
    mark("corroboration", "Corroborated.", `${copies} more ${copies === 1 ? "outlet carries" : "outlets carry"} the same text as ${corroborated.length === 1 ? "one source" : `${corroborated.length} sources`}.`);
  }
}

export function renderAnswer(answer) {
  $("status").textContent = "";
  markAnswer(answer);
  $("answer").replaceChildren(...answerNodes(timelineHeading(answer), answer.sources.length));
  renderTimeline(answer.timeline || null); // "How did X develop?": the dated steps
  for (const warning of answer.warnings) $("warnings").append(el("li", {}, warning));
  // A refusal's retrieved articles were not relevant enough to answer from: not listed.
  renderSources(answer.answerable ? answer.sources : [], answer.citations);
  offerFeedback();
  offerFollow();
}
