// Asking: the question and its filters go to `POST /v1/ask` as a stream; the sources show as
// soon as retrieval is done, the text as it is written, the checked answer when it is done.
import { renderAnswer, resetResult, setBusy, showDraft, showProblem } from "./answer.js";
import { renderSources } from "./citations.js";
import { $ } from "./dom.js";
import { readEvents } from "./events.js";
import { askForKey, headers } from "./keys.js";
import { outletProblem, unknownOutlets } from "./outlets.js";
import { Problem, needsKey, problemOf } from "./problems.js";
import { state } from "./state.js";

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

// False, with the problem shown, when the outlet filter names an outlet the collection lacks
// (or when another question was asked meanwhile).
async function outletsKnown(chosenFilters, chosenCollection, controller) {
  if (!chosenFilters || !chosenFilters.sources) return true;
  const unknown = await unknownOutlets(chosenFilters.sources, chosenCollection);
  if (state.controller !== controller) return false;
  if (!unknown.length) return true;
  state.controller = null;
  setBusy(false, "");
  showProblem(outletProblem(unknown));
  return false;
}

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
  if (!(await outletsKnown(chosenFilters, chosenCollection, controller))) return;

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
    await readEvents(response, controller.signal, handleEvent);
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

function handleEvent(name, payload) {
  if (name === "sources") {
    state.sources = payload.sources;
    renderSources(payload.sources, []);
    setBusy(true, "Writing the answer…");
  } else if (name === "delta") {
    state.text = payload.replace ? payload.text : state.text + payload.text;
    if (payload.replace) $("status").textContent = "The model stopped; answering from the sources instead…";
    showDraft(state.text);
  } else if (name === "done") {
    state.answer = payload;
    renderAnswer(payload);
  } else if (name === "error") {
    throw new Problem(payload);
  }
}

// An empty question is said next to the box (the API would refuse it with a 422).
function questionMissing(missing) {
  $("question").setAttribute("aria-invalid", missing ? "true" : "false");
  $("question-error").hidden = !missing;
}

export function initAsk() {
  $("question").addEventListener("input", () => questionMissing(false));
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    questionMissing(!question);
    if (!question) {
      $("question").focus();
      return;
    }
    ask(question, filters(), collection());
  });
}
