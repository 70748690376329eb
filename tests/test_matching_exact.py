"""The fast paths of the pair features give exactly what the plain definitions give: ``tset`` equals
rapidfuzz's ``fuzz.token_set_ratio`` bit for bit, the hash set answers like ``np.isin``, stated key-value
items compare as ``key=value`` texts, and the tree walk sums the leaves a plain walk reaches."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from matching import OfferRecord
from matching.features import FEATURES, pair_features
from matching.intset import IntSet
from matching.model import TreeModel, load_model
from matching.prepare import Prepared, Vocabulary, prepare, prepare_all
from matching.record_table import RecordTable
from matching.tuning.datasets import DatasetMissing, load

TSET = FEATURES.index("tset")
PIECES = ["a", "b", "ab", "ba", "abc", "x1", "10", "苹果", "果手", "手机", "机", "é", "z" * 30, "ab c"[:2]]


def _with_title(norm: str, **fields: object) -> Prepared:
    """A prepared record whose normalised title is exactly ``norm`` (tokens as ``prepare`` makes them)."""
    base = prepare(OfferRecord(key=f"k/{norm}", marketplace="k", title="x"))
    return replace(base, norm=norm, tokens=frozenset(norm.split()), condensed="".join(norm.split()), **fields)


def _tset(prepared: list[Prepared], pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(ours, rapidfuzz's as ``cpdist`` gives it / 100) for the pairs."""
    table = RecordTable(prepared, Vocabulary(p.tokens for p in prepared), None)
    left, right = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    ours = pair_features(table, left, right)[:, TSET]
    a, b = [prepared[i].norm for i in left], [prepared[j].norm for j in right]
    theirs = (cpdist(a, b, scorer=fuzz.token_set_ratio) / 100.0).astype(np.float64)
    return ours, theirs


def _random_titles(rng: np.random.Generator, n: int) -> list[str]:
    titles = []
    for _ in range(n):
        size = int(rng.integers(0, 9))
        titles.append(" ".join(rng.choice(PIECES, size=size).tolist()))
    return titles


def test_token_set_ratio_equals_rapidfuzz_on_random_titles() -> None:
    rng = np.random.default_rng(11)
    titles = _random_titles(rng, 400)
    titles += [
        "",
        "a",
        "a a b",
        "b a",
        "a b c",
        "苹果 手机",
        "手机 苹果 苹果",
        "abc",
    ]  # empty, repeats, subsets
    prepared = [_with_title(t) for t in titles]
    n = len(prepared)
    pairs = [(int(i), int(j)) for i, j in rng.integers(0, n, size=(6000, 2))]
    pairs += [(i, i) for i in range(n)] + [(n - 8, n - 7), (n - 6, n - 4), (n - 5, n - 3), (n - 4, n - 3)]
    ours, theirs = _tset(prepared, pairs)
    assert np.array_equal(ours, theirs)
    got = dict(zip(pairs, ours.tolist(), strict=True))
    assert got[(n - 8, n - 7)] == 0.0  # an empty title
    assert got[(n - 6, n - 4)] == 1.0  # one set inside the other
    assert 0.0 < got[(n - 5, n - 3)] < 1.0


@pytest.mark.parametrize("titles", [[], [""], ["", ""], ["a", ""], ["   ", "x y"]])
def test_tables_of_no_records_or_empty_titles(titles: list[str]) -> None:
    prepared = prepare_all(
        [OfferRecord(key=f"k/{n}", marketplace="k", title=t) for n, t in enumerate(titles)]
    )
    table = RecordTable(prepared, Vocabulary(p.tokens for p in prepared), None)
    assert table.size == len(titles)
    if len(titles) == 2:
        ours, theirs = _tset(prepared, [(0, 1), (1, 0), (0, 0)])
        assert np.array_equal(ours, theirs) and ours[0] == 0.0


def test_titles_that_are_not_plain_tokens_are_compared_by_rapidfuzz() -> None:
    """A title with other whitespace than single spaces (rapidfuzz does not split at a no-break space,
    Python does) is scored by rapidfuzz itself."""
    titles = ["a\xa0b c", " a b", "a  b", "a b ", "a\tb", "a b", "b c", "\xa0", "a\x85b"]
    prepared = [_with_title(t) for t in titles]
    pairs = [(i, j) for i in range(len(titles)) for j in range(len(titles))]
    ours, theirs = _tset(prepared, pairs)
    assert np.array_equal(ours, theirs)
    assert fuzz.token_set_ratio("a\xa0b c", "a b c") < 100  # the case the fallback exists for


def test_token_set_ratio_equals_rapidfuzz_on_shared_titles() -> None:
    checked = 0
    for name in ("ali-ember-zh", "abt-buy"):
        try:
            ps = load(name, "valid")
        except DatasetMissing as exc:
            pytest.skip(f"shared data missing: {exc}")
        prepared = prepare_all(ps.records)
        ours, theirs = _tset(prepared, ps.pairs)
        assert np.array_equal(ours, theirs)
        checked += len(ps.pairs)
    assert checked > 2000


def _stated(pairs: list[tuple[dict[str, str], dict[str, str]]]) -> np.ndarray:
    prepared = [_with_title(f"t{k}", kv=kv) for pair in pairs for k, kv in enumerate(pair)]
    table = RecordTable(prepared, Vocabulary(p.tokens for p in prepared), None)
    left = np.arange(0, len(prepared), 2)
    x = pair_features(table, left, left + 1)
    return x[:, [FEATURES.index("kv_shared"), FEATURES.index("kv_eq")]]


@pytest.mark.parametrize("odd_key", ["a=b", "plain"])
def test_stated_items_compare_as_key_value_texts(odd_key: str) -> None:
    """Items are equal when their ``key=value`` texts are: with a key holding ``=``, ("a=b", "c") and
    ("a", "b=c") are one item (as the texts always said); without, pairs and texts agree."""
    pairs = [
        ({"a": "b=c", "x": "1"}, {odd_key: "c", "x": "1"}),
        ({"a": "1", "b": "2"}, {"a": "1", "b": "3"}),
        ({}, {"a": "1"}),
    ]
    got = _stated(pairs).tolist()
    first_equal = 2.0 if odd_key == "a=b" else 1.0  # items "a=b=c" and "x=1"
    assert got[0] == [1.0, first_equal]  # shared keys: x only
    assert got[1] == [2.0, 0.5]
    assert got[2][0] == 0.0 and math.isnan(got[2][1])


def test_int_set_answers_like_isin() -> None:
    rng = np.random.default_rng(3)
    for size in (0, 1, 7, 1000, 50_000):
        keys = np.unique(rng.integers(0, 4 * size + 10, size=size))
        crowded = np.arange(size, dtype=np.int64) << 20  # keys whose hashes share low bits
        for k in (keys, crowded):
            queries = np.concatenate([k, rng.integers(-5, 4 * size + 20, size=3 * size + 5), k + 1, [-1]])
            assert np.array_equal(IntSet(k).has(queries), np.isin(queries, k) & (queries >= 0))


def _plain_walk(trees: TreeModel, row: np.ndarray) -> float:
    """The sum of each tree's leaf value for one row (in tree order), following the node arrays one step at
    a time."""
    out = 0.0
    for root in trees.roots.tolist():
        node = root
        while trees.feature[node] >= 0:
            value = row[trees.feature[node]]
            left = value <= trees.threshold[node] if value == value else trees.nan_left[node]
            node = int(trees.children[2 * node + (0 if left else 1)])
        out += float(trees.value[node])
    return out


def test_tree_walk_sums_the_leaves_of_a_plain_walk() -> None:
    trees = load_model().trees
    rng = np.random.default_rng(5)
    x = rng.choice([np.nan, 0.0, 0.5, 1.0, 2.0, 1e300], size=(700, trees.n_features))
    x[:, :4] = rng.random((700, 4))
    expected = trees.baseline + np.array([_plain_walk(trees, row) for row in x])
    # the same leaves summed in the same order: equal bit for bit
    assert np.array_equal(trees.raw(x), expected)


def _chain(depth: int) -> dict[str, object]:
    """One tree that splits ``depth`` times on feature 0 (each right child a leaf), nan going alternately
    left and right."""
    feature, threshold, missing, left, right, value = [], [], [], [], [], []
    for i in range(depth):
        feature += [0, -1]
        threshold += [float(depth - i), 0.0]
        missing += [i % 2, 0]
        left += [2 * i + 2, 0]
        right += [2 * i + 1, 0]
        value += [0.0, 0.1 * (i + 1)]
    feature.append(-1)
    threshold.append(0.0)
    missing.append(0)
    left.append(0)
    right.append(0)
    value.append(-1.0)
    tree = {"feature": feature, "threshold": threshold, "missing_left": missing, "left": left, "right": right}
    return {"baseline": 0.5, "depth": depth, "trees": [{**tree, "value": value}] * 2}


@pytest.mark.parametrize("depth", [3, 14])
def test_deep_trees_are_walked_like_shallow_ones(depth: int) -> None:
    """Trees deeper than a complete layout holds are walked through their child arrays: same leaves."""
    trees = TreeModel(_chain(depth), 2)
    x = np.array([[v, 0.0] for v in [np.nan, -1.0, 0.5, 1.0, 2.5, 7.0, 13.0, 14.5, 99.0]])
    expected = trees.baseline + np.array([_plain_walk(trees, row) for row in x])
    assert np.array_equal(trees.raw(x), expected)
    assert len(set(trees.raw(x).tolist())) >= 3  # several leaves reached


def _random_tree(rng: np.random.Generator, depth: int, n_features: int) -> dict[str, list[float]]:
    """A tree of random shape (leaves at any level up to ``depth`` splits, the first path always that deep),
    splitting on random features at thresholds among the test values (ties go left), some of them infinite
    ('nan only' splits), nan going either way."""
    tree: dict[str, list[float]] = {k: [] for k in ("feature", "threshold", "missing_left", "left", "right")}
    tree["value"] = []

    def grow(level: int, deepest: bool) -> int:
        node = len(tree["value"])
        for key in tree:
            tree[key].append(0)
        tree["value"][node] = float(rng.normal())
        if level == depth or (not deepest and rng.random() < 0.25):
            tree["feature"][node] = -1
            return node
        tree["feature"][node] = int(rng.integers(n_features))
        tree["threshold"][node] = float(rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0, np.inf]))
        tree["missing_left"][node] = int(rng.integers(2))
        tree["left"][node] = grow(level + 1, deepest)
        tree["right"][node] = grow(level + 1, False)
        return node

    grow(0, True)
    return tree


@pytest.mark.parametrize("depth", [0, 1, 2, 5, 6, 9, 13])
def test_random_trees_sum_the_leaves_of_a_plain_walk(depth: int) -> None:
    """Trees of every depth (a single leaf, the two levels read column by column, the complete layout, the
    child-array walk past 12 splits), random shapes, nan and infinite features, chunks of rows and a
    remainder: the leaves a plain walk reaches, summed in tree order, bit for bit."""
    rng = np.random.default_rng(depth)
    n_features = 7
    model = {
        "baseline": float(rng.normal()),
        "trees": [_random_tree(rng, depth, n_features) for _ in range(40)],
    }
    trees = TreeModel(model, n_features)
    x = rng.choice([np.nan, -np.inf, -1.0, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0, np.inf], size=(700, n_features))
    expected = trees.baseline + np.array([_plain_walk(trees, row) for row in x])
    assert np.array_equal(trees.raw(x), expected)
    for rows in (1, 257):  # a chunk of one row (alone, after a full chunk) is summed in tree order too
        assert np.array_equal(trees.raw(x[:rows]), expected[:rows])
    if depth:
        assert len(set(trees.raw(x).tolist())) > 100  # many leaf combinations reached
