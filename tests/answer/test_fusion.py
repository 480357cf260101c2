import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.answer.fusion import reciprocal_rank_fusion, score_fusion, weigh_features


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]], k=60)
    assert [d for d, _ in fused][:2] == ["b", "a"]
    assert dict(fused)["b"] == 1 / 61 + 1 / 62


@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=8), max_size=4))
def test_rrf_properties(rankings):
    fused = reciprocal_rank_fusion(rankings)
    ids = [d for d, _ in fused]
    assert len(ids) == len(set(ids)) == len({x for r in rankings for x in r})
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True)
    if rankings and rankings[0]:
        # an item ranked first everywhere it appears cannot lose to one never ranked first
        top = rankings[0][0]
        if all(r and r[0] == top for r in rankings if top in r) and all(top in r for r in rankings):
            assert ids[0] == top


def test_score_fusion_keeps_a_clear_winner_margin_that_rank_fusion_loses():
    dense = [("a", 0.62), ("b", 0.61), ("c", 0.60), ("d", 0.59)]  # a flat dense ranking
    lexical = [("c", 30.0), ("a", 5.0), ("d", 4.5), ("b", 4.0)]  # c is far ahead on words
    assert reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in lexical]])[0][0] == "a"
    fused = score_fusion([dense, lexical])
    assert fused[0][0] == "c"
    # Only on one path: the other path counts its lowest z-score for it.
    only_lexical = score_fusion([[("a", 1.0), ("b", 0.0)], [("z", 9.0), ("a", 1.0)]])
    assert [i for i, _ in only_lexical] == ["a", "z", "b"]
    assert score_fusion([dense, []]) == score_fusion([dense])  # an empty path adds nothing


@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0, 30), st.floats(-1, 1)), min_size=1, max_size=12))
def test_weighing_features_is_score_fusion_when_nothing_is_missing(rows):
    ids = [f"c{i}" for i in range(len(rows))]
    features = [{c: row[k] for c, row in zip(ids, rows)} for k in range(3)]
    ours = weigh_features(features, (0.5, 0.2, 0.3))
    theirs = score_fusion([list(f.items()) for f in features], weights=(0.5, 0.2, 0.3))
    assert [c for c, _ in ours] == [c for c, _ in theirs] or \
        [round(x, 9) for _, x in ours] == [round(x, 9) for _, x in theirs]  # ties may order apart
    assert dict(ours) == pytest.approx(dict(theirs), abs=1e-9)
    assert weigh_features([], (1.0,)) == [] and weigh_features([{}], (1.0,)) == []


def test_fusion_modes_are_named_by_their_setting_values():
    from service.answer.fusion import FUSION_WEIGHTS
    from service.models import FusionMode

    assert [FusionMode.from_str(v) for v in ("rrf", "zscore", "rerank")] == list(FusionMode)
    assert FusionMode.from_str("rrf") == "rrf" and f"{FusionMode.RERANK}" == "rerank"
    assert set(FUSION_WEIGHTS) == set(FusionMode)
    with pytest.raises(ValueError, match="unknown fusion 'RRF'; one of rrf, zscore, rerank"):
        FusionMode.from_str("RRF")


def test_the_fusion_setting_takes_the_same_names_and_says_which_when_wrong(tmp_path, monkeypatch):
    from pydantic import ValidationError

    from service.config import Settings
    from service.models import FusionMode

    monkeypatch.setenv("NEWSDESK_FUSION", "zscore")
    assert Settings().fusion is FusionMode.ZSCORE
    monkeypatch.setenv("NEWSDESK_FUSION", "max")
    with pytest.raises(ValidationError, match="Input should be 'rrf', 'zscore' or 'rerank'"):
        Settings()
