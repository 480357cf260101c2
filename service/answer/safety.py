"""Text in a source that reads as orders to a model rather than news, and the escaping
that keeps source text from closing or forging the prompt's `<source n>` delimiters.

Detection is a set of cues, not one sentence pattern: an override verb near a word for
instructions (in several languages), a line addressed to an AI, role-play set-ups, chat
template tokens and forged delimiters, and imperative orders about citing or answering.
`evals/injections/variants.jsonl` measures it; `heldout.jsonl` is never tuned on.
"""

from __future__ import annotations

import re
from functools import lru_cache

from service.text import sentence_spans

_I = re.IGNORECASE
_W = r"[^.!?\n]{0,60}?"  # a short stretch inside one sentence

# Verbs that mean "ignore / forget / override" and nouns for what a model was told, by language.
_OVERRIDE = (
    r"ignor\w*|disregard\w*|forget|forgotten|set aside|pay no attention|override|overrule|discard|abandon"
    r"|do not follow|don't follow|stop following"
    r"|vergiss\w*|vergessen|missacht\w*|übergeh\w*"  # de
    r"|oubli\w*|ne tenez pas compte|ne tiens pas compte|faites abstraction"  # fr
    r"|olvid\w*|haz caso omiso|omite|omita"  # es
    r"|dimentica\w*|trascura"  # it
    r"|esqueç\w*|desconsider\w*"  # pt
    r"|negeer\w*|vergeet"  # nl
    r"|zignoruj\w*|ignoruj\w*|zapomnij"  # pl
    r"|yok say\w*|görmezden gel\w*|unut"  # tr
    r"|игнорир\w*|забудь\w*|не обращай внимания"  # ru
)
_OVERRIDE_CJK = r"忽略|无视|忘记|忘掉|無視|忘れ"
_ORDERS = (
    r"instruction\w*|prompt\w*|rules|guidance|guidelines|directives?|orders|commands|everything (above|before)"
    r"|(the )?(text|message|content) above|the above|all (of )?the above|(everything|all|what) you (were|have been) told"
    r"|anweisung\w*|vorgabe\w*|regeln|befehle|obigen|vorherig\w*|bisherig\w*"
    r"|consignes?|règles|ci-dessus|précédent\w*"
    r"|instrucciones|reglas|anterior\w*"
    r"|istruzion\w*|regole|precedent\w*"
    r"|instruç\w*|regras"
    r"|instructies|regels|voorgaande|bovenstaande"
    r"|instrukcj\w*|polece\w*|poprzedni\w*"
    r"|talimat\w*|kurallar\w*|önceki"
    r"|инструкци\w*|указани\w*|правил\w*|предыдущ\w*"
)
_ORDERS_CJK = r"指令|指示|说明|规则|之前|以前"
# Latin and Cyrillic words need word boundaries ("unprecedented" is not "precedent");
# Chinese and Japanese have no spaces, so their cues stand alone.
_OVERRIDE_ANY = rf"(?:\b(?:{_OVERRIDE})\b|{_OVERRIDE_CJK})"
_ORDERS_ANY = rf"(?:\b(?:{_ORDERS})\b|{_ORDERS_CJK})"
_DELIMITER = re.compile(
    r"<\s*/?\s*source\b[^>]*>|<\|[^|>]{1,20}\|>|\[/?INST\]|<</?SYS>>|<\s*/?\s*(system|assistant|user)\s*>"
    r"|\[(SYSTEM|ASSISTANT)\]|^\s*#*\s*(system|assistant)\s*:", _I | re.MULTILINE)
_CUES = [
    # "Ignore previous instructions", in any of the languages above and in either order.
    re.compile(rf"{_OVERRIDE_ANY}{_W}{_ORDERS_ANY}|{_ORDERS_ANY}{_W}{_OVERRIDE_ANY}", _I),
    # A line addressed to a model.
    re.compile(r"\b(note|message|attention|instructions?|memo|reminder|hint)\b[^.!?\n]{0,30}\b(to|for)\b[^.!?\n]{0,20}"
               r"\b(ai|a\.i\.|llms?|language models?|chatbots?|bots?|assistants?|models?|summari[sz]ers?|gpt)\b", _I),
    re.compile(r"\b(dear|attention|hey|hello)\s+(ai|llm|chatbot|assistant|language model|gpt|claude|model)s?\b", _I),
    re.compile(r"\bif you are an? (ai|llm|language model|chatbot|assistant|bot|automated)\b", _I),
    re.compile(r"\b(to|for) (any|all|every) (ai|llm|language model|chatbot|assistant|automated)", _I),
    re.compile(r"\b(ai|llm|language model|chatbot)s? (assistants? )?(must|should|need to|are required to|reading this)\b", _I),
    # Role-play set-ups and re-assignments.
    re.compile(r"\byou are now\b|\bfrom now on,? (you|the assistant|respond|answer|reply)|\byour (new|real|actual) (task|job|role|instructions?)\b"
               r"|\bpretend (that )?(you are|you're|to be)\b|\bimagine (that )?you are\b|\brole-?play as\b"
               r"|(^|\byou (will|must|should|now) )act as\b"
               r"|\blet'?s play a game\b|\bjailbreak\w*|\b(?-i:DAN)\b"
               r"|\b(ai|assistant|model|chatbot)\b[^.!?\n]{0,20}\b(without|with no) (any )?(restrictions|rules|filters|limits)\b"
               r"|\b(the )?(assistant|model|ai) (should|must|will) now\b", _I),
    # What a model was told, asked for by name.
    re.compile(r"\b(system prompt|hidden instructions?|new instructions?|developer mode|prior directives?)\b", _I),
    # Orders about the answer itself.
    re.compile(r"\b(do not|don't|never|stop) (cite|citing|reference|referencing|mention|mentioning|quote|quoting) "
               r"(any|the|other|this|these)?\s*(sources?|articles?|references|correction|citations?)\b", _I),
    re.compile(r"\b(reply|respond|answer)( only)? with (the word|only|just)\b|\b(reply|respond|answer) only\b"
               r"|\b(print|reveal|output) (the text of )?your\b", _I),
    _DELIMITER,
    # The same orders in other languages ("answer/say/respond only ...", "from now on you must ...").
    re.compile(r"\b(antworte|sage|behaupte)\b[^.!?\n]{0,40}\b(nur|dass)\b|\b(répondez|réponds|dites|affirmez)\b"
               r"|\b(responde|di que|debes responder|a partir de ahora)\b|\b(scrivi che|rispondi)\b|\b(diga que|responda)\b"
               r"|\b(zeg dat|antwoord)\b|\b(napisz|odpowiedz)\b|\b(söyle|yanıtla)\b|\b(скажи|ответь|напиши)\b"
               r"|告诉读者|回答|答えて|言って", _I),
]


@lru_cache(maxsize=20_000)
def reads_as_instruction(sentence: str) -> bool:
    """Does this sentence read as orders to a model rather than news?"""
    return any(cue.search(sentence) for cue in _CUES)


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text` that reads as instructions, plus any
    forged delimiter or template token wherever it sits."""
    spans = [(s, e) for s, e in sentence_spans(text) if reads_as_instruction(text[s:e])]
    spans += [(m.start(), m.end()) for m in _DELIMITER.finditer(text)]
    return sorted(set(spans))


_ANGLE = str.maketrans({"<": "‹", ">": "›"})


def escape_source(text: str) -> str:
    """Source text as it goes into a prompt: angle brackets become single guillemets, so
    no article, title or outlet can close `</source n>` or open a forged `<source m>` or a
    chat-template token. Nothing else changes, so quotes still match the article."""
    return text.translate(_ANGLE)
