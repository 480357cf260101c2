// What the page is showing: the question as asked, the answer when it is done, its numbered
// sources, the text streamed so far, a request waiting for an API key, and the ask in flight.
export const state = { asked: null, answer: null, sources: [], text: "", pending: null, controller: null };
