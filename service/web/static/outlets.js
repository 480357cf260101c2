// The outlet filter checked before asking, against the collection's outlets (`GET /v1/outlets`):
// a name that matches no outlet exactly would only give "Not found", so the page says which
// name is wrong and which outlet was probably meant.
import { headers } from "./keys.js";

// Each of `names` that is not an outlet of the collection, with the closest outlet (or null).
// Nothing, when the list cannot be read: the ask itself then reports a missing key or collection.
export async function unknownOutlets(names, collection) {
  const query = collection ? `?collection=${encodeURIComponent(collection)}` : "";
  let known;
  try {
    const response = await fetch(`/v1/outlets${query}`, { headers: headers({ Accept: "application/json" }) });
    if (!response.ok) return [];
    known = (await response.json()).outlets.map((outlet) => outlet.name);
  } catch {
    return [];
  }
  return names.filter((name) => !known.includes(name)).map((name) => ({ name, suggestion: closest(name, known) }));
}

export function outletProblem(unknown) {
  const parts = unknown.map(({ name, suggestion }) =>
    `no outlet named “${name}”${suggestion ? `; did you mean “${suggestion}”?` : "."}`);
  return { title: "Unknown outlet", detail: parts.join(" ").replace(/^n/, "N") };
}

// The outlet a misspelt name most likely means: the same letters in another case, then one that
// contains it (or is contained in it), then the fewest edits, if few enough to be a typo.
export function closest(name, known) {
  const wanted = name.toLowerCase();
  const lower = known.map((k) => k.toLowerCase());
  const same = lower.indexOf(wanted);
  if (same >= 0) return known[same];
  const containing = known.filter((k, i) => lower[i].includes(wanted) || wanted.includes(lower[i]));
  if (containing.length) return containing.sort((a, b) => a.length - b.length)[0];
  let best = null;
  let bestDistance = Math.max(2, Math.floor(wanted.length / 3)) + 1;
  known.forEach((k, i) => {
    const d = distance(wanted, lower[i]);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  });
  return best;
}

// Levenshtein distance, one row at a time.
function distance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
