// The API's errors (RFC 9457 problem details), whatever the response held.

export class Problem extends Error {
  constructor(body) {
    super(body.detail || body.title || "The request failed.");
    this.body = body;
  }
}

export async function problemOf(response) {
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

export function needsKey(problem) {
  return problem.body.status === 401;
}
