from service.answer.shaping import collapse_duplicates, fit_budget, merge_adjacent, select_sources, spread_articles
from service.models import ArticleRef, Passage


def passage(article_id, start, end, text, score=1.0, **facts):
    return Passage([f"{article_id}#{start}"], ArticleRef(article_id, **facts), text, start, end, score)


WIRE = ("SAN FRANCISCO (Meridian) - Nvidia said on Wednesday that revenue from its data-centre business "
        "rose 93 percent to 30.8 billion dollars in the third quarter, beating analyst estimates.")


def test_wire_copies_collapse_into_one_source_with_corroboration():
    a = passage("outlet-a", 0, len(WIRE), WIRE, outlet="Outlet A")
    b = passage("outlet-b", 10, 10 + len(WIRE) + 20, "Updated: " + WIRE + " Shares rose.", outlet="Outlet B")
    c = passage("other", 0, 30, "Meta released Llama 3.1 with 405 billion parameters.")
    kept = collapse_duplicates([a, b, c])
    assert [p.article_id for p in kept] == ["outlet-a", "other"]
    assert [x.article_id for x in kept[0].corroborated_by] == ["outlet-b"]


def test_adjacent_chunks_of_one_article_merge_into_an_exact_slice():
    article = "One. Two three. Four five six. Seven."
    p1 = passage("a", 0, 16, article[0:16], score=0.9)
    p2 = passage("a", 10, 31, article[10:31], score=0.5)
    p3 = passage("a", 31, len(article), article[31:], score=0.4)
    other = passage("b", 0, 5, "Other", score=0.7)
    merged = merge_adjacent([p1, other, p2, p3])
    assert [m.article_id for m in merged] == ["a", "b"]
    assert merged[0].text == article and (merged[0].char_start, merged[0].char_end) == (0, len(article))
    assert merged[0].score == 0.9


def test_budget_keeps_rank_order_and_skips_what_does_not_fit():
    ps = [passage("a", 0, 1, "w " * 50), passage("b", 0, 1, "w " * 80), passage("c", 0, 1, "w " * 30)]
    count = lambda texts: [len(t.split()) for t in texts]  # noqa: E731
    assert [p.article_id for p in fit_budget(ps, 100, count)] == ["a", "c"]
    assert [p.article_id for p in fit_budget(ps, 10, count)] == ["a"]


def test_one_long_article_cannot_take_every_source_slot():
    ranked = [passage("long", i, i + 1, f"part {i}", score=1 - i / 10) for i in range(5)] + [
        passage("other", 0, 1, "x", score=0.1), passage("third", 0, 1, "y", score=0.05)]
    assert [(p.article_id, p.char_start) for p in spread_articles(ranked, 4, 2)] == [
        ("long", 0), ("long", 1), ("other", 0), ("third", 0)]
    # when other articles run out, the same article fills the remaining slots in rank order
    assert [p.char_start for p in spread_articles(ranked[:5], 3, 2)] == [0, 1, 2]


def test_the_original_wire_represents_its_reprints():
    # The reprint ranks first, but the earlier copy is the original: it is shown, in first place.
    reprint = passage("reprint", 0, len(WIRE) + 9, "Updated: " + WIRE, score=0.9, outlet="Outlet B",
                      published_at="2025-08-02")
    original = passage("original", 0, len(WIRE), WIRE, score=0.5, outlet="Outlet A", published_at="2025-08-01")
    other = passage("other", 0, 30, "Meta released Llama 3.1 with 405 billion parameters.", score=0.7)
    kept = collapse_duplicates([reprint, other, original])
    assert [p.article_id for p in kept] == ["original", "other"]
    assert kept[0].score == 0.9 and [x.article_id for x in kept[0].corroborated_by] == ["reprint"]
    # The copy from the agency its dateline credits is the original, whatever the dates say.
    agency = passage("agency", 0, len(WIRE), WIRE, score=0.4, outlet="Meridian", published_at="2025-08-03")
    assert [p.article_id for p in collapse_duplicates([reprint, agency])] == ["agency"]


def test_neighbouring_chunks_merged_into_one_source_leave_room_for_more_articles():
    article = "First part. Second part. Third part. Fourth part."
    ranked = [passage("a", 0, 24, article[0:24], score=0.9), passage("a", 12, 36, article[12:36], score=0.8),
              passage("b", 0, 5, "B one", score=0.7), passage("c", 0, 5, "C one", score=0.6),
              passage("d", 0, 5, "D one", score=0.5)]
    sources = select_sources(ranked, 3, 2)
    # a's two chunks touch, so they are one source: three sources still means three articles.
    assert [p.article_id for p in sources] == ["a", "b", "c"]
    assert sources[0].text == article[0:36]
    assert [p.article_id for p in select_sources(ranked, 9, 2)] == ["a", "b", "c", "d"]  # all there is
