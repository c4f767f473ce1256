"""What people keep asking and complaining about: posts grouped by the classifier's own embeddings.

Spherical k-means (cosine) on the week's posts; each group is named by its most central posts and the
words that set it apart from the other groups (class-based TF-IDF). A group is new when the posts of the
weeks before it seldom came near it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from store.report_queries import Post

Matrix = npt.NDArray[np.float32]
SEED = 20261204  # the same posts give the same topics on every run
ITERATIONS = 25
SAMPLE = 1500  # posts the number of groups is chosen on: the silhouette costs the square of this
CLEAR_SPLIT = 0.05  # a silhouette below this is no split: the posts are one topic
NEW_SHARE = 0.25  # new: the earlier weeks brought it, on average, under this share of this week's size
APOSTROPHES = "'\u2019"  # typed and typographic
WORD = re.compile(rf"[^\W\d_][\w{APOSTROPHES}-]{{2,}}", re.UNICODE)
STOP_WORDS = frozenset(
    word
    for line in (Path(__file__).parent / "stop_words.txt").read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)


def unit_rows(blobs: Sequence[bytes]) -> Matrix:
    """float32 vectors as stored (store/similar_replies.py pack), one per row, scaled to length 1."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)


def kmeans(vectors: Matrix, k: int) -> tuple[Matrix, npt.NDArray[np.intp]]:
    """Centroids (unit length) and each row's group; k-means++ seeding, deterministic."""
    rng = np.random.default_rng(SEED)
    n = len(vectors)
    centroids = [vectors[int(rng.integers(n))]]
    closest = 1 - vectors @ centroids[0]
    for _ in range(1, k):
        weights = np.clip(closest, 0, None) ** 2
        total = float(weights.sum())
        if total <= 0:
            break  # every post is one of the centroids already
        pick = int(rng.choice(n, p=weights / total))
        centroids.append(vectors[pick])
        closest = np.minimum(closest, 1 - vectors @ vectors[pick])
    center = np.stack(centroids)
    groups = np.zeros(n, dtype=np.intp)
    for step in range(ITERATIONS):
        new_groups = np.argmax(vectors @ center.T, axis=1)
        if step > 0 and np.array_equal(new_groups, groups):
            break
        groups = new_groups
        for i in range(len(center)):
            members = vectors[groups == i]
            if len(members):
                mean = members.sum(axis=0)
                center[i] = mean / (np.linalg.norm(mean) or 1)
    return center.astype(np.float32), groups


def silhouette(vectors: Matrix, groups: npt.NDArray[np.intp], k: int) -> float:
    """Mean silhouette on cosine distance: near 1 when each post is much nearer its own group than the next
    one, near 0 when the groups are arbitrary cuts."""
    n = len(vectors)
    distance = 1 - vectors @ vectors.T
    onehot = np.zeros((n, k), dtype=np.float32)
    onehot[np.arange(n), groups] = 1
    sizes = onehot.sum(axis=0)
    sums = distance @ onehot  # each post's summed distance to each group
    own_size = sizes[groups]
    own = np.where(own_size > 1, sums[np.arange(n), groups] / np.maximum(own_size - 1, 1), 0)
    to_others = np.where(onehot > 0, np.inf, sums / np.maximum(sizes, 1))
    to_others[:, sizes == 0] = np.inf
    nearest = to_others.min(axis=1)
    score = np.where(
        (own_size > 1) & np.isfinite(nearest), (nearest - own) / np.maximum(np.maximum(own, nearest), 1e-9), 0
    )
    return float(score.mean())


def choose_k(vectors: Matrix, most: int) -> int:
    """The number of groups the posts fall into most clearly (best silhouette on a sample of them); one
    group when no split is clear."""
    if most < 2 or len(vectors) < 4:
        return 1
    sample = vectors
    if len(vectors) > SAMPLE:
        sample = vectors[np.random.default_rng(SEED).choice(len(vectors), SAMPLE, replace=False)]
    best, best_k = CLEAR_SPLIT, 1
    for k in range(2, min(most, len(sample) - 1) + 1):
        _, groups = kmeans(sample, k)
        score = silhouette(sample, groups, k)
        if score > best + 0.01:  # a larger k must be clearly better, not as good
            best, best_k = score, k
    return best_k


def words(text: str, ignore: frozenset[str]) -> list[str]:
    return [
        w
        for w in (m.lower().strip(APOSTROPHES + "-") for m in WORD.findall(text))
        if len(w) > 2 and w not in STOP_WORDS and w not in ignore
    ]


def distinctive_terms(groups: Sequence[Iterable[str]], top: int) -> list[list[str]]:
    """Per group, the words frequent in it and rare in the others (class-based TF-IDF)."""
    counts = [Counter(g) for g in groups]
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    average = total.total() / max(1, len(counts))  # words in a group, on average
    named = []
    for c in counts:
        size = c.total() or 1
        scored = sorted(c, key=lambda w: (-(c[w] / size) * math.log(1 + average / total[w]), w))
        named.append([w for w in scored if c[w] > 1][:top] or scored[:top])
    return named


def _distinct(order: npt.NDArray[np.intp], posts: Sequence[Post], most: int) -> list[int]:
    """The first `most` posts in `order` with different words: a copy-paste wave shows once."""
    seen: set[str] = set()
    chosen = []
    for m in order:
        key = " ".join(posts[int(m)].text.lower().split())
        if key not in seen:
            seen.add(key)
            chosen.append(int(m))
            if len(chosen) == most:
                break
    return chosen


@dataclass(frozen=True)
class Topic:
    name: str
    terms: list[str]
    size: int
    examples: list[Post]  # the most central posts
    intents: dict[str, int]
    earlier_per_week: float  # posts of the weeks before that came as near to it, per week
    new: bool
    centroid: Matrix
    reach: float  # how near a post must come to belong (cosine to the centroid)


def find_topics(
    posts: Sequence[Post],
    vectors: Matrix,
    earlier: Matrix,
    earlier_weeks: int,
    *,
    max_topics: int,
    min_size: int,
    ignore: frozenset[str] = frozenset(),
    examples: int = 3,
) -> list[Topic]:
    """The groups of at least `min_size` posts, biggest first; `earlier` holds the embeddings of the
    `earlier_weeks` weeks before, to tell what is new."""
    if len(posts) < min_size or vectors.size == 0:
        return []
    k = choose_k(vectors, max(1, min(max_topics, len(posts) // min_size)))
    centroids, groups = kmeans(vectors, k)
    similarity = vectors @ centroids.T
    kept = [i for i in range(len(centroids)) if int((groups == i).sum()) >= min_size]
    members = {i: np.flatnonzero(groups == i) for i in kept}
    reach = {i: float(np.quantile(similarity[members[i], i], 0.1)) for i in kept}
    earlier_near: Counter[int] = Counter()
    if earlier.size and kept:
        sims = earlier @ centroids[kept].T
        best = np.argmax(sims, axis=1)
        for row, col in enumerate(best):
            if sims[row, col] >= reach[kept[col]]:
                earlier_near[kept[col]] += 1
    terms = distinctive_terms(
        [[w for m in members[i] for w in words(posts[int(m)].text, ignore)] for i in kept], top=6
    )
    topics = []
    for i, group_terms in zip(kept, terms, strict=True):
        size = len(members[i])
        central = _distinct(
            members[i][np.argsort(-similarity[members[i], i], kind="stable")], posts, examples
        )
        per_week = earlier_near[i] / earlier_weeks if earlier_weeks else 0.0
        topics.append(
            Topic(
                name=" / ".join(group_terms[:3]) or "(no words: erased posts)",
                terms=group_terms,
                size=size,
                examples=[posts[m] for m in central],
                intents=dict(Counter(str(posts[int(m)].intent) for m in members[i]).most_common()),
                earlier_per_week=round(per_week, 2),
                new=per_week < NEW_SHARE * size,
                centroid=centroids[i],
                reach=reach[i],
            )
        )
    return sorted(topics, key=lambda t: (-t.size, t.name))
