// Following the question just answered: `POST /v1/follows` with a webhook or a Slack channel;
// then `GET /v1/follows/{id}/notices` shows what was sent when the answer changed.
import { $, el } from "./dom.js";
import { askForKey, headers } from "./keys.js";
import { Problem, needsKey, problemOf } from "./problems.js";
import { state } from "./state.js";

let following = null;

export function resetFollow() {
  following = null;
  $("follow").hidden = true;
  $("follow-status").replaceChildren();
  $("notices").replaceChildren();
  $("notices-button").hidden = true;
  $("follow-button").disabled = false;
}

export function offerFollow() {
  $("follow").hidden = false;
}

function target() {
  const value = $("follow-target").value.trim();
  return /^https?:\/\//i.test(value) ? { webhook: value } : { slack_channel: value };
}

async function follow() {
  if (!state.asked || !$("follow-target").value.trim()) {
    $("follow-target").focus();
    return;
  }
  const body = { question: state.asked.question, notify: target() };
  if (state.asked.filters) body.filters = state.asked.filters;
  if (state.asked.collection) body.collection = state.asked.collection;
  $("follow-status").textContent = "Following…";
  $("follow-button").disabled = true;
  try {
    const response = await fetch("/v1/follows", {
      method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
    if (!response.ok) throw await problemOf(response);
    following = await response.json();
    const parts = [el("strong", {}, "Following."), ` Notices go to ${following.notify.webhook || following.notify.slack_channel} when the answer changes (${following.follow_id}).`];
    if (following.secret) parts.push(" Webhook secret, shown once: ", el("code", {}, following.secret));
    $("follow-status").replaceChildren(...parts);
    $("notices-button").hidden = false;
  } catch (error) {
    $("follow-button").disabled = false;
    if (error instanceof Problem && needsKey(error)) askForKey(() => follow());
    const problem = error instanceof Problem ? error.body : { detail: "The server could not be reached." };
    $("follow-status").textContent = `Not followed: ${problem.detail}`;
  }
}

async function showNotices() {
  if (!following) return;
  const response = await fetch(`/v1/follows/${encodeURIComponent(following.follow_id)}/notices`, { headers: headers() });
  if (!response.ok) {
    $("notices").replaceChildren(el("li", {}, `Could not read the notices: ${(await problemOf(response)).body.detail}`));
    return;
  }
  const { items } = await response.json();
  $("notices").replaceChildren(...(items.length ? items.map((n) => el("li", { class: "notice" },
    el("time", { datetime: n.created_at }, n.created_at.replace("T", " ").slice(0, 19)), " ",
    el("strong", {}, n.summary),
    el("p", { class: "meta" }, `${n.delivery.status} after ${n.delivery.attempts} attempt(s)`),
    el("p", { class: "notice-answer" }, n.answer.answer),
  )) : [el("li", {}, "No notices yet: the answer has not changed.")]));
}

export function initFollow() {
  $("follow-button").addEventListener("click", () => follow());
  $("notices-button").addEventListener("click", () => showNotices());
}
