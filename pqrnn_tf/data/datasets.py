"""Built-in data sets by name, the values of every CLI's ``--dataset`` flag (pure Python).

Each maps a split name ("train", "dev", "test") to its examples; sources, licences
and split rules are in each reader's module docstring.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data import multilingual, readers, sentiment
from pqrnn_tf.data.examples import Example
from pqrnn_tf.data.splits import SPLITS

#: name -> reader of one split.
BUILTIN: dict[str, Callable[[str], list[Example]]] = {
    "atis": readers.read_atis,
    "atis_intents": readers.read_atis_intents,
    "vader_sentiment": sentiment.read_vader_sentiment,
    "multilingual_langid": multilingual.read_multilingual_langid,
    "multilingual_topic": multilingual.read_multilingual_topic,
}
#: For flag help texts.
NAMES = ", ".join(BUILTIN)


def check_name(name: str, flag: str = "--dataset") -> None:
    """A UserError naming ``flag`` unless ``name`` is a built-in data set."""
    if name not in BUILTIN:
        raise UserError(f"Unknown {flag}={name}; built in: {NAMES}")


def read_split(name: str, split: str) -> list[Example]:
    """Examples of ``split`` of built-in data set ``name``."""
    check_name(name)
    return BUILTIN[name](split)


def read_splits(name: str, splits: Iterable[str] = SPLITS) -> dict[str, list[Example]]:
    """{split: examples} of built-in data set ``name``."""
    check_name(name)
    return {s: BUILTIN[name](s) for s in splits}


def main(argv: list[str]) -> int:
    """``python -m pqrnn_tf.data.datasets [NAME...]``: fetch (if needed) and summarize."""
    import collections  # pylint: disable=g-import-not-at-top
    for name in argv or list(BUILTIN):
        for split, examples in read_splits(name).items():
            counts = collections.Counter(e.intent for e in examples)
            print(f"{name} {split}: {len(examples)} examples, {len(counts)} labels, "
                  f"largest {counts.most_common(1)[0][1] / len(examples):.1%}")
    return 0


if __name__ == "__main__":
    import sys  # pylint: disable=g-import-not-at-top
    try:
        sys.exit(main(sys.argv[1:]))
    except (UserError, FileNotFoundError) as e:
        print(f"pqrnn_tf.data.datasets: {e}", file=sys.stderr)
        sys.exit(2)
