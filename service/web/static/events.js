// Server-Sent Events from a fetch response: `POST /v1/ask` streams `sources`, `delta`…, then
// `done` or `error`, each with a JSON payload.

// Calls onEvent(name, payload) for each event until the stream ends or `signal` aborts.
export async function readEvents(response, signal, onEvent) {
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
      if (signal.aborted) return;
      const event = parseEvent(block);
      if (event) onEvent(event.name, event.payload);
    }
  }
}

// One event's name and parsed data; null for a block without data (a comment, a keep-alive).
export function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  return { name, payload: JSON.parse(data.join("\n")) };
}
