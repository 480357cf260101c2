"""The gate's training: grouped out-of-fold figures, a threshold held to a false-refusal
limit, a reliability table, and a model file the server reads."""

import json
import random

import numpy as np

from service.answer.gate import GateModel
from service.evals import gate_training as gt
from service.evals.gate_data import Example, holds, perturb


def fake_examples(n: int = 160, seed: int = 0) -> list[Example]:
    """Questions whose answerability follows two features, with noise; each has a copy in
    its group, as a perturbed question does."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = int(rng.random() < 0.6)
        strength = rng.gauss(0.7 if label else 0.35, 0.15)
        sentences = [{"cos": strength + rng.gauss(0, 0.05), "typed": float(rng.random() < 0.5)} for _ in range(4)]
        features = {"best_dense": strength, "ent_all": float(label or rng.random() < 0.3), "sent_p1": 0.0, "sent_p2": 0.0}
        dataset = "eval" if i % 2 else "squad2-excerpt"
        out.append(Example(dataset, str(i), f"g{i // 2}", f"q{i}", label, 1.0, "", features, sentences,
                           [int(label and s["cos"] > strength) for s in sentences]))
    return out


def test_out_of_fold_predictions_separate_and_the_threshold_keeps_its_limit():
    examples = fake_examples()
    p = gt.out_of_fold(examples)
    y = np.array([e.label for e in examples])
    assert p[y == 1].mean() > p[y == 0].mean() + 0.2
    t = gt.choose_threshold(examples, p, relevance=0.0, limit=0.05)
    news = [i for i, e in enumerate(examples) if e.dataset == "eval" and e.label]
    assert (p[news] < t).mean() <= 0.05
    assert sum(r["n"] for r in gt.reliability(p, y)) == len(examples)


def test_the_model_file_is_what_the_server_reads():
    examples = fake_examples()
    models = gt.fit(examples)
    text = gt.model_file(models, {"extractive": 0.4, "llm": 0.1}, {"trained_on": {"eval": {"questions": 1}}})
    model = GateModel.from_dict(json.loads(text))
    assert np.allclose(model.question.predict([{**e.features, "sent_p1": 0.0, "sent_p2": 0.0} for e in examples[:5]]),
                       gt.predict(models, [Example(**{**e.__dict__, "sentences": []}) for e in examples[:5]]))
    assert model.thresholds == {"extractive": 0.4, "llm": 0.1}


def test_sentence_labels_and_perturbed_questions():
    assert holds("Amazon will invest $4 billion more in Anthropic.", ["$4 billion"])
    assert holds("Eddy Cue said there was no valid alternative.", ["Eddy Cue said there was no valid alternative to Google."])
    assert not holds("Shares fell.", ["$4 billion"])
    rng = random.Random(3)
    made = perturb("How many employees does Mistral AI have?", rng, "mistral ai has 280 people", ["The Ledger Wire"])
    assert made and made != "How many employees does Mistral AI have?" and "?" in made
    assert perturb("why?", rng, "", []) is None
