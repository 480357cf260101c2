// The API key, when the server asks for one: kept in sessionStorage only, so it is gone when
// the tab closes, and sent as a bearer token with every request.
import { $ } from "./dom.js";
import { state } from "./state.js";

const KEY_STORAGE = "newsdesk.key";

export function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// Shows the key form; `retry` runs once a key is given.
export function askForKey(retry) {
  sessionStorage.removeItem(KEY_STORAGE); // refused: unknown, revoked or mistyped
  state.pending = retry;
  $("key-form").hidden = false;
  $("api-key").focus();
}

export function initKeys() {
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
}
