// newsdesk reading page: plain JavaScript modules, no build step (docs/web.md). Each module
// has one job; this one wires them to the page.
//
//   ask.js        the question and its filters -> POST /v1/ask, streamed (events.js)
//   answer.js     the result panel: status, problem, marks, the finished answer
//   citations.js  [n] markers as links, the list of sources
//   article.js    the article reader, its quoted spans highlighted
//   feedback.js   Yes/No votes -> POST /v1/feedback
//   outlets.js    the outlet filter checked against GET /v1/outlets ("did you mean ...?")
//   follow.js     follow the question -> POST /v1/follows; its notices
//   timeline.js   a "how did X develop?" answer as a vertical timeline
//   keys.js       the API key, when the server asks for one; problems.js, the API's errors
//   dom.js        elements built from text nodes only; state.js, what the page is showing
import { initArticle } from "./article.js";
import { initAsk } from "./ask.js";
import { initFeedback } from "./feedback.js";
import { initFollow } from "./follow.js";
import { initKeys } from "./keys.js";

initKeys();
initAsk();
initArticle();
initFeedback();
initFollow();
