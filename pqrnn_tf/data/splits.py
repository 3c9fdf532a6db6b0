"""Seeded, stratified train/dev/test splits of built-in data sets (pure Python)."""
from __future__ import annotations

import random
from collections.abc import Sequence

from pqrnn_tf.data.examples import Example

SPLITS = ("train", "dev", "test")


def stratified_split(examples: Sequence[Example], fractions: tuple[float, float],
                     seed: int) -> dict[str, list[Example]]:
    """{'train', 'dev', 'test'}: each intent's examples shuffled by ``seed`` and cut at
    ``fractions`` = (train, dev) of its count, the rest test; each split keeps the input order.

    The shuffle of a label depends only on the seed, the label and that label's examples
    (``random.Random`` seeded with a string, which does not depend on PYTHONHASHSEED), so a
    split is the same on every machine and Python 3 version.
    """
    train_fraction, dev_fraction = fractions
    if not (0 < train_fraction and 0 <= dev_fraction and train_fraction + dev_fraction < 1):
        raise ValueError(f"fractions {fractions} must be > 0 and sum to < 1")
    by_label: dict[str | None, list[int]] = {}
    for i, example in enumerate(examples):
        by_label.setdefault(example.intent, []).append(i)
    chosen: dict[int, str] = {}
    for label, indices in by_label.items():
        indices = list(indices)
        random.Random(f"{seed}:{label}").shuffle(indices)
        n_train = round(len(indices) * train_fraction)
        n_dev = round(len(indices) * dev_fraction)
        for rank, i in enumerate(indices):
            chosen[i] = "train" if rank < n_train else "dev" if rank < n_train + n_dev else "test"
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for i, example in enumerate(examples):
        out[chosen[i]].append(example)
    return out
