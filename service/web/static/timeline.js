// A timeline answer ("How did X develop?"): its dated steps as a vertical timeline, oldest
// first, each step's quote citing its source with the same [n] links as any answer.
import { openSource } from "./article.js";
import { $, el } from "./dom.js";

function formatDate(iso) {
  if (!iso) return "Undated";
  const [year, month, day] = iso.split("-").map((x) => parseInt(x, 10));
  const when = new Date(Date.UTC(year, month - 1, day));
  return when.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}

function cite(n, title) {
  return el("a", {
    href: `#source-${n}`, class: "cite", "data-n": String(n), "aria-label": `Source ${n}: ${title || "untitled"}`,
    onclick: (event) => {
      event.preventDefault();
      openSource(n);
    },
  }, String(n));
}

function step(item) {
  const c = item.citation;
  const meta = [c.source, c.published_at ? c.published_at.slice(0, 10) : null].filter(Boolean).join(" · ");
  const node = el("li", { class: `step step-${item.kind}`, "data-kind": item.kind },
    el("time", { datetime: item.date || "", class: "step-date" }, formatDate(item.date)),
    el("p", { class: "step-text" }, item.text, " ", el("span", { class: "marker" }, "[", cite(c.n, c.title), "]")),
    el("p", { class: "meta" }, `${c.title}${meta ? ` — ${meta}` : ""}${item.dated_by === "event" ? "" : " (dated by the article)"}`),
  );
  if (item.kind === "correction") {
    const of = item.corrects ? ` of “${item.corrects.title}”${item.corrects.published_at ? ` (${item.corrects.published_at.slice(0, 10)})` : ""}` : "";
    node.prepend(el("strong", { class: "step-badge" }, `Correction${of}.`), " ");
    if (item.note) node.append(el("p", { class: "step-note" }, item.note));
  }
  if (item.copies.length) {
    const names = item.copies.map((r) => r.source || r.title).filter(Boolean);
    node.append(el("p", { class: "corroboration" }, `Also carried by ${names.join(", ")} (wire copy).`));
  }
  return node;
}

// Shows `timeline` (null: none) under the answer.
export function renderTimeline(timeline) {
  const list = $("timeline");
  list.replaceChildren();
  list.hidden = !timeline;
  if (!timeline) return;
  list.setAttribute("aria-label", `How ${timeline.topic} developed, oldest first`);
  for (const item of timeline.steps) list.append(step(item));
}

// The answer's text for a timeline: its first line (the steps are the list).
export function timelineHeading(answer) {
  return answer.timeline ? answer.answer.split("\n")[0] : answer.answer;
}
