"""The gate's model as served: read from its JSON file with numpy, the same probabilities as
the scikit-learn models it was exported from, and a refusal rule per mode."""

import json

import numpy as np
import pytest

from service.answer.gate import DEFAULT_MODEL_PATH, Gate, GateModel, TreeEnsemble, load_gate_model
from service.errors import ConfigError
from service.evals.gate_training import export_trees, fit_sentences


def test_exported_trees_give_sklearns_probabilities():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.RandomState(0)
    x = rng.randn(400, 4)
    x[::7, 2] = 0.5  # repeated values, as binary features have
    y = ((x[:, 0] + 0.5 * x[:, 1] * x[:, 2]) > 0.1).astype(int)
    model = HistGradientBoostingClassifier(max_depth=3, max_iter=40, random_state=0).fit(x, y)
    names = ["a", "b", "c", "d"]
    trees = TreeEnsemble.from_dict(export_trees(model, names))
    rows = [dict(zip(names, r, strict=True)) for r in rng.randn(50, 4)]
    ours = trees.predict(rows)
    theirs = model.predict_proba(np.array([[r[n] for n in names] for r in rows]))[:, 1]
    assert np.allclose(ours, theirs, atol=1e-5)


def test_the_sentence_model_reads_features_by_name():
    from service.evals.gate_data import Example

    rng = np.random.RandomState(1)
    examples = []
    for i in range(120):
        rows = [{"cos": float(c), "typed": float(t)} for c, t in zip(rng.rand(5), rng.rand(5) > 0.5, strict=True)]
        examples.append(Example("d", str(i), str(i), "q", 1, 1.0, "", {}, rows,
                                [int(r["cos"] > 0.6 and r["typed"]) for r in rows]))
    trees = TreeEnsemble.from_dict(fit_sentences(examples, ["cos", "typed"]))
    p = trees.predict([{"typed": 1.0, "cos": 0.9}, {"cos": 0.1, "typed": 0.0}])
    assert p[0] > 0.5 > p[1]


def test_the_shipped_model_loads_and_refuses_more_without_an_llm():
    model = load_gate_model()
    assert 0.0 <= model.thresholds["llm"] <= model.thresholds["extractive"] < 1.0
    gate = Gate(model, relevance_threshold=0.26)
    between = (model.thresholds["llm"] + model.thresholds["extractive"]) / 2
    assert gate.refuses(between, best_dense=0.6, n_sources=8, mode="extractive")
    assert not gate.refuses(between, best_dense=0.6, n_sources=8, mode="llm")
    # Off-topic is refused in both modes, whatever the model says.
    assert gate.refuses(0.99, best_dense=0.1, n_sources=8, mode="llm")
    assert gate.refuses(0.99, best_dense=0.9, n_sources=0, mode="extractive")
    assert set(model.info["trained_on"]) >= {"eval", "newsset"}


def test_a_model_file_of_another_format_says_how_to_make_one(tmp_path):
    data = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="train-gate"):
        GateModel.from_dict({**data, "format": 99})
    bad = tmp_path / "gate.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the gate model"):
        load_gate_model(bad)
