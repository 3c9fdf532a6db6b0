"""VADER sentiment sentences: 3-class sentiment (positive / neutral / negative), English.

Source: the four ``*_GroundTruth.txt`` files of ``hutto_ICWSM_2014.tar.gz`` in the
source archive of PyPI ``vaderSentiment`` 3.3.2 (``additional_resources/``; MIT licence,
C.J. Hutto; cite Hutto & Gilbert, ICWSM 2014). Each line is ``id<TAB>mean<TAB>text``:
a sentence or tweet and the mean of at least 20 human ratings on -4..4. The four
domains are tweets (4,200), movie-review snippets (10,605), Amazon review snippets
(3,708) and New York Times editorial snippets (5,190): 23,703 lines.

Labels (:func:`label_of`): mean >= 0.5 ``positive``, mean <= -0.5 ``negative``, else
``neutral`` (a rater average within half a point of zero). Texts that occur
more than once (whitespace-normalized) are kept once, with the mean of their ratings, so
a sentence can't be in two splits. That leaves 23,619 examples: 10,254 positive (43.4%),
9,149 negative (38.7%), 4,216 neutral (17.9%).

Split (:data:`SPLIT_SEED`, :func:`pqrnn_tf.data.splits.stratified_split`): per label,
80% train / 10% dev / 10% test: 18,895 / 2,362 / 2,362. The text is kept as the
files give it (tweets keep their HTML entities such as ``&amp;``), whitespace-joined.
"""
from __future__ import annotations

import functools
import io
import os
import tarfile
from pathlib import Path

from pqrnn_tf.data import pypi_source
from pqrnn_tf.data.examples import Example
from pqrnn_tf.data.readers import DataError
from pqrnn_tf.data.splits import SPLITS, stratified_split

SOURCE = pypi_source.SourceArchive(
    name="vaderSentiment", version="3.3.2", filename="vaderSentiment-3.3.2.tar.gz",
    sha256="5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9")
#: The data archive inside the source archive.
INNER_ARCHIVE = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
GROUND_TRUTH_SUFFIX = "_GroundTruth.txt"
POSITIVE_THRESHOLD = 0.5
NEGATIVE_THRESHOLD = -0.5
LABELS = ("negative", "neutral", "positive")
SPLIT_SEED = 16
SPLIT_FRACTIONS = (0.8, 0.1)


def label_of(mean_rating: float) -> str:
    """``positive`` at mean >= 0.5, ``negative`` at <= -0.5, ``neutral`` between."""
    if mean_rating >= POSITIVE_THRESHOLD:
        return "positive"
    if mean_rating <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def parse_ground_truth(data: bytes, name: str) -> list[tuple[str, float]]:
    """(text, mean rating) of each ``id<TAB>mean<TAB>text`` line of one file; a malformed
    line is a DataError naming ``name`` and the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(name, None, f"not valid UTF-8 ({e})") from None
    rows = []
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue  # The files end with a newline; some have a trailing blank line.
        columns = line.split("\t")
        if len(columns) != 3:
            raise DataError(name, lineno, f"expected 3 tab-separated columns (id, mean, text), "
                                          f"found {len(columns)}")
        try:
            mean = float(columns[1])
        except ValueError:
            raise DataError(name, lineno, f"mean rating {columns[1]!r} is not a number") from None
        words = columns[2].split()
        if not words:
            raise DataError(name, lineno, "empty text")
        rows.append((" ".join(words), mean))
    return rows


def read_archive(path: str | os.PathLike) -> list[Example]:
    """All examples of a vaderSentiment source archive, deduplicated, in file order
    (files sorted by name)."""
    with tarfile.open(path, "r:gz") as outer:
        try:
            member = outer.getmember(INNER_ARCHIVE)
        except KeyError:
            raise DataError(path, None, f"has no {INNER_ARCHIVE}") from None
        inner_bytes = outer.extractfile(member).read()
    ratings: dict[str, list[float]] = {}
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        names = sorted(m.name for m in inner.getmembers()
                       if m.isfile() and m.name.endswith(GROUND_TRUTH_SUFFIX))
        if not names:
            raise DataError(path, None, f"{INNER_ARCHIVE} has no *{GROUND_TRUTH_SUFFIX} files")
        for name in names:
            for text, mean in parse_ground_truth(inner.extractfile(name).read(),
                                                 f"{path}!{INNER_ARCHIVE}!{name}"):
                ratings.setdefault(text, []).append(mean)
    return [Example(text, label_of(sum(means) / len(means))) for text, means in ratings.items()]


@functools.lru_cache(maxsize=4)
def _splits(path: str) -> dict[str, list[Example]]:
    return stratified_split(read_archive(path), SPLIT_FRACTIONS, SPLIT_SEED)


def read_vader_sentiment(split: str, archive: str | os.PathLike | None = None) -> list[Example]:
    """``split`` in {"train", "dev", "test"} of the VADER sentences (18,895 / 2,362 / 2,362).

    ``archive`` is the vaderSentiment source archive; by default it is fetched into the
    cache (:func:`pqrnn_tf.data.pypi_source.fetch`).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = Path(archive) if archive is not None else pypi_source.fetch(SOURCE)
    return list(_splits(os.fspath(path))[split])
