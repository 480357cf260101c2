"""A question's assessment built by hand, for the short-answer and yes/no tests: each
sentence one source, with the score the gate's sentence model would give it."""

from service.answer.analysis import analyse, outlet_mentions
from service.answer.assessment import AssessedSentence, Assessment
from service.answer.evidence import evidence
from service.answer.sentences import Candidate
from service.models import ArticleRef, Passage
from service.text import tokenize

OUTLETS = ["The Ledger Wire", "Northgate Business Review"]


def scenario(question: str, sentences: list[tuple]) -> tuple[Assessment, list[AssessedSentence]]:
    """(text, outlet, date, score[, cosine]) per sentence, one source each."""
    q = analyse(question)
    passages, assessed = [], []
    for n, (text, outlet, date, score, *rest) in enumerate(sentences, start=1):
        cosine = rest[0] if rest else 0.6
        passages.append(Passage([f"a{n}#0"], ArticleRef(f"a{n}", f"Report {n}", outlet, None, date), text, 0, len(text)))
        c = Candidate(n, 0, len(text), text, f"Report {n}. ", date, outlet)
        assessed.append(AssessedSentence(c, cosine, evidence(q, text, c.context, outlet), 0.5, {}, frozenset(tokenize(text)),
                                         score))
    a = Assessment(question, q, (q,), passages, assessed, outlet_mentions(question, OUTLETS), 0.6)
    return a, assessed
