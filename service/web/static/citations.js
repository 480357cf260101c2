// The answer's [n] markers as links to its numbered sources, and the list of those sources.
import { openSource } from "./article.js";
import { $, el } from "./dom.js";
import { state } from "./state.js";

// The same marker grammar as the server's citation checks: [1], [1, 3], [2-4].
const MARKER = /\[\s*(\d+(?:\s*[-–]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–]\s*\d+)?)*)\s*\]/g;

// The numbers a marker names; a range gives at most 50.
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

// The answer text as nodes: each number of a marker that names a source becomes a link to it.
export function answerNodes(text, sourceCount) {
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

export function renderSources(sources, citations) {
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
