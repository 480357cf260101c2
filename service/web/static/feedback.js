// Yes/No votes on an answer: `POST /v1/feedback` with the question, the answer and its citations,
// under an anonymous reader token that lasts as long as the tab.
import { $ } from "./dom.js";
import { askForKey, headers } from "./keys.js";
import { Problem, needsKey, problemOf } from "./problems.js";
import { state } from "./state.js";

const READER_STORAGE = "newsdesk.reader";

function reader() {
  let token = sessionStorage.getItem(READER_STORAGE);
  if (!token) {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(READER_STORAGE, token);
  }
  return token;
}

function buttons() {
  return document.querySelectorAll("#feedback button");
}

// Hidden, and no vote pressed: a new question is being answered.
export function resetFeedback() {
  $("feedback").hidden = true;
  $("feedback-status").textContent = "";
  for (const button of buttons()) {
    button.setAttribute("aria-pressed", "false");
    button.disabled = false;
  }
}

export function offerFeedback() {
  $("feedback").hidden = false;
}

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
    for (const button of buttons()) {
      button.setAttribute("aria-pressed", button.dataset.vote === choice ? "true" : "false");
    }
    $("feedback-status").textContent = `Thanks, your “${choice === "up" ? "Yes" : "No"}” was recorded.`;
  } catch (error) {
    if (error instanceof Problem && needsKey(error)) askForKey(() => vote(choice));
    const problem = error instanceof Problem ? error.body : { title: "Network error", detail: "The vote was not sent." };
    $("feedback-status").textContent = `Not recorded: ${problem.detail}`;
  }
}

export function initFeedback() {
  $("vote-up").addEventListener("click", () => vote("up"));
  $("vote-down").addEventListener("click", () => vote("down"));
}
