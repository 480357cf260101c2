"""Citation checks: parse `[n]` markers, drop the invalid ones, pick a verbatim quote with
offsets for every cited source, and flag what the sources do not back.

Every quote returned here has been checked to be an exact substring of its article at
the stated offsets; a quote that fails the check is not returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from service.answer.conflicts import unflagged_correction
from service.answer.safety import instruction_spans
from service.answer.sentences import lead_length
from service.models import Citation, Passage
from service.text import sentence_spans, tokenize

_MARKER = re.compile(r"\[\s*(\d+(?:\s*[-–]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–]\s*\d+)?)*)\s*\]")
_MAX_RANGE = 50
_QUOTED = re.compile(r"[\"“]([^\"“”]{12,}?)[\"”]")
# Phrases with which a model (or newsdesk itself) says the sources do not answer.
_CANNOT_ANSWER = re.compile(
    r"\b(cannot|can't|can not|unable to) (answer|find|determine)\b"
    r"|\bnot (found|mentioned|covered|addressed|available) in the (indexed )?(articles|sources)\b"
    r"|\b(sources|articles) (do not|don't) (contain|mention|say|provide|address)\b"
    r"|\bno (information|mention) (about|of|on)\b",
    re.IGNORECASE,
)
WEAK_SUPPORT = 0.2


def expand_marker(body: str) -> list[int]:
    """'1, 3-5' -> [1, 3, 4, 5]; over-long ranges are cut at 50 numbers."""
    numbers: list[int] = []
    for part in re.split(r"[,;]", body):
        bounds = [int(x) for x in re.split(r"[-–]", part.strip()) if x.strip()]
        if len(bounds) == 2:
            low, high = min(bounds), max(bounds)
            numbers.extend(range(low, min(high, low + _MAX_RANGE - 1) + 1))
        elif bounds:
            numbers.append(bounds[0])
    return list(dict.fromkeys(numbers))


def parse_markers(text: str) -> list[tuple[int, int, list[int]]]:
    """(start, end, numbers) for each marker in `text`."""
    return [(m.start(), m.end(), expand_marker(m.group(1))) for m in _MARKER.finditer(text)]


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


def says_cannot_answer(text: str) -> bool:
    return bool(_CANNOT_ANSWER.search(text))


@dataclass
class Checked:
    answer: str  # with invalid markers removed
    citations: list[Citation]
    warnings: list[str] = field(default_factory=list)
    unsupported_sentences: list[str] = field(default_factory=list)


_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\]]*\d[^\]]*\]\s*)+")


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Sentences of an answer with the source numbers they cite. Markers that open a
    sentence ("Claim. [2] Next claim.") belong to the sentence before it."""
    out: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        lead = _LEADING_MARKERS.match(sentence)
        if out and lead and _MARKER.search(lead.group()):
            carried = [n for _, _, ns in parse_markers(lead.group()) for n in ns]
            prev, prev_numbers = out[-1]
            out[-1] = (prev + " " + lead.group().strip(), list(dict.fromkeys(prev_numbers + carried)))
            sentence = sentence[lead.end():]
            if not strip_markers(sentence):
                continue
        numbers = [n for _, _, ns in parse_markers(sentence) for n in ns]
        out.append((sentence, numbers))
    return out


def support(claim: str, sentence: str) -> float:
    """Share of the claim's content words that the sentence contains (stemmed)."""
    claim_tokens = set(tokenize(strip_markers(claim)))
    if not claim_tokens:
        return 0.0
    return len(claim_tokens & set(tokenize(sentence))) / len(claim_tokens)


def best_quote(claim: str, passage: Passage) -> tuple[int, int, float]:
    """Character span (relative to the passage) of the passage sentence, or two adjacent
    sentences, that best support `claim`, with its support score."""
    spans = sentence_spans(passage.text) or [(0, len(passage.text))]
    scores = [support(claim, passage.text[s:e]) for s, e in spans]
    best = max(range(len(spans)), key=lambda i: (scores[i], -(spans[i][1] - spans[i][0])))
    start, end = spans[best]
    start += lead_length(passage.text[start:end])  # a quote starts after the dateline
    score = scores[best]
    for neighbour in (best - 1, best + 1):
        if 0 <= neighbour < len(spans):
            lo, hi = min(start, spans[neighbour][0]), max(end, spans[neighbour][1])
            joined = support(claim, passage.text[lo:hi])
            if joined >= score + 0.2:
                start, end, score = lo, hi, joined
    return start, end, score


def check_answer(text: str, passages: list[Passage], article_texts: dict[str, str]) -> Checked:
    """Validate the markers in `text` against numbered `passages` ([1] is passages[0])."""
    cleaned, dropped = drop_unknown_markers(text, len(passages))
    quotes, unsupported, weak = quote_claims(cleaned, passages, article_texts)
    citations, withheld = verified_citations(quotes, passages, article_texts)
    warnings = dropped + weak + withheld
    correction = unflagged_correction(strip_markers(cleaned), {n for n, _, _ in quotes}, passages)
    if correction:
        warnings.append(correction)
    warnings += [f"source [{n}] contains text that reads as instructions to the model; it was treated as data"
                 for n, passage in enumerate(passages, start=1) if instruction_spans(passage.text)]
    return Checked(cleaned, citations, list(dict.fromkeys(warnings)), unsupported)


def drop_unknown_markers(text: str, n_sources: int) -> tuple[str, list[str]]:
    """`text` without the numbers that match no source (a marker left empty goes), and a
    warning for each number dropped."""
    dropped: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        numbers = expand_marker(match.group(1))
        valid = [n for n in numbers if 1 <= n <= n_sources]
        dropped.extend(n for n in numbers if not 1 <= n <= n_sources)
        return "[" + ", ".join(str(n) for n in valid) + "]" if valid else ""

    cleaned = _MARKER.sub(rewrite, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned).strip()
    where = f"1–{n_sources}" if n_sources else "none were retrieved"
    return cleaned, [f"citation [{n}] does not match any source ({where}); dropped" for n in dict.fromkeys(dropped)]


# (source number, start, end) of a quote, relative to its passage -> its best support score
Quotes = dict[tuple[int, int, int], float]


def quote_claims(text: str, passages: list[Passage], article_texts: dict[str, str]) -> tuple[Quotes, list[str], list[str]]:
    """The best quote for each (sentence, source it cites), the sentences that cite nothing,
    and warnings: weak support, text that leans on or repeats instructions in a source, and
    quotations the cited sources do not contain."""
    quotes: Quotes = {}
    unsupported: list[str] = []
    warnings: list[str] = []
    injected = [(n, passage.text[s:e]) for n, passage in enumerate(passages, start=1)
                for s, e in instruction_spans(passage.text)]
    for sentence, numbers in answer_sentences(text):
        claim = strip_markers(sentence)
        warnings += [f"the answer repeats what source [{n}] says in text that reads as instructions to the model: "
                     f"{claim[:160]!r}" for n, order in injected if support(claim, order) >= 0.5]
        if not numbers:
            if len(claim.split()) >= 3 and not says_cannot_answer(claim):
                unsupported.append(claim)
            continue
        for n in numbers:
            warnings += _quote(claim, n, passages[n - 1], quotes)
        warnings += _unfound_quotations(claim, numbers, passages, article_texts)
    return quotes, unsupported, warnings


def _quote(claim: str, n: int, passage: Passage, quotes: Quotes) -> list[str]:
    """Record the best quote from source [n] for `claim`; warnings about it."""
    start, end, score = best_quote(claim, passage)
    quotes[(n, start, end)] = max(score, quotes.get((n, start, end), 0.0))
    warnings = []
    if score < WEAK_SUPPORT:
        warnings.append(f"source [{n}] barely supports: {claim[:160]!r}")
    if any(s < end and start < e for s, e in instruction_spans(passage.text)):
        warnings.append(f"the sentence citing [{n}] leans on text that reads as instructions to the model")
    return warnings


def _unfound_quotations(claim: str, numbers: list[int], passages: list[Passage],
                        article_texts: dict[str, str]) -> list[str]:
    """A warning for each quotation in `claim` that none of its cited sources' articles contains."""
    warnings = []
    for quoted in _QUOTED.findall(claim):
        haystacks = [_squash(article_texts.get(passages[n - 1].article_id, passages[n - 1].text)) for n in numbers]
        if not any(_squash(quoted) in h for h in haystacks):
            warnings.append(f"quoted text not found in the cited source(s) {numbers}: {quoted[:120]!r}")
    return warnings


def verified_citations(quotes: Quotes, passages: list[Passage],
                       article_texts: dict[str, str]) -> tuple[list[Citation], list[str]]:
    """A citation for each quote that is exactly its article's text at the stated offsets;
    a warning for each that is not (its citation is withheld)."""
    citations: list[Citation] = []
    warnings: list[str] = []
    for (n, start, end), score in sorted(quotes.items()):
        passage = passages[n - 1]
        article = article_texts.get(passage.article_id)
        quote = passage.text[start:end].strip()
        lead = len(passage.text[start:end]) - len(passage.text[start:end].lstrip())
        abs_start = passage.char_start + start + lead
        abs_end = abs_start + len(quote)
        if article is None or article[abs_start:abs_end] != quote:
            warnings.append(f"quote for [{n}] could not be verified against its article; citation withheld")
            continue
        citations.append(Citation(
            n=n,
            article_id=passage.article_id,
            title=passage.title,
            outlet=passage.outlet,
            url=passage.url,
            published_at=passage.published_at,
            quote=quote,
            start=abs_start,
            end=abs_end,
            score=round(score, 4),
        ))
    return citations, warnings


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("“", '"').replace("”", '"')).strip().lower()
