"""Core data types: :class:`Example` and :class:`LabelVocab` (pure Python, no TensorFlow)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

#: Index returned by :meth:`LabelVocab.index` for an unseen label when the vocab has no fallback.
UNKNOWN_INDEX = -1

#: The "outside" slot tag; the fallback of tag vocabularies built by :func:`build_tag_vocab`.
OUTSIDE_TAG = "O"


@dataclass(frozen=True)
class Example:
    """One utterance with optional intent label and optional per-token slot tags.

    ``text`` is the utterance; its tokens are ``text.split()`` (readers store the
    tokens joined by single spaces). ``tags``, when present, has exactly one tag
    per token. ``intent`` is the raw intent string (ATIS multi-intents such as
    ``"atis_flight;atis_airfare"`` are kept as one label). ``None`` means unlabeled.
    """

    text: str
    intent: str | None = None
    tags: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"Example.text must be str, got {type(self.text).__name__}")
        if self.intent is not None and not isinstance(self.intent, str):
            raise TypeError(f"Example.intent must be str or None, got {type(self.intent).__name__}")
        if self.tags is not None:
            if isinstance(self.tags, str) or not isinstance(self.tags, Sequence):
                raise TypeError("Example.tags must be a sequence of str or None")
            if not isinstance(self.tags, tuple):  # accept lists, store an immutable tuple
                object.__setattr__(self, "tags", tuple(self.tags))
            if not all(isinstance(t, str) for t in self.tags):
                raise TypeError("Example.tags must contain only str")
            n_tokens = len(self.text.split())
            if len(self.tags) != n_tokens:
                raise ValueError(
                    f"{len(self.tags)} tags for {n_tokens} tokens in text {self.text!r}"
                )

    @property
    def tokens(self) -> tuple[str, ...]:
        """Whitespace tokens of ``text`` (the units ``tags`` align with)."""
        return tuple(self.text.split())


class LabelVocab:
    """An ordered, immutable list of labels with index lookup; no ``<unk>`` entry.

    Unseen labels map to ``fallback`` if one is set (it must be one of the labels,
    e.g. ``"O"`` for slot tags), otherwise to :data:`UNKNOWN_INDEX` (``-1``, used for
    intents: a test intent never seen in training can't be predicted, so it counts
    as wrong, never as some arbitrary class).
    """

    def __init__(self, labels: Iterable[str], fallback: str | None = None) -> None:
        labels = tuple(labels)
        if not all(isinstance(x, str) for x in labels):
            raise TypeError("labels must be str")
        if len(set(labels)) != len(labels):
            dups = sorted({x for x in labels if labels.count(x) > 1})
            raise ValueError(f"duplicate labels: {dups}")
        if fallback is not None and fallback not in labels:
            raise ValueError(f"fallback {fallback!r} is not one of the labels")
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}
        self._fallback = fallback

    @classmethod
    def build(cls, labels: Iterable[str | None], fallback: str | None = None) -> LabelVocab:
        """Vocab of the distinct non-None ``labels``, sorted; ``fallback`` (added if absent) is index 0."""
        distinct = {x for x in labels if x is not None}
        if fallback is not None:
            distinct.discard(fallback)
            return cls([fallback, *sorted(distinct)], fallback=fallback)
        return cls(sorted(distinct))

    @property
    def labels(self) -> tuple[str, ...]:
        """All labels, in index order."""
        return self._labels

    @property
    def fallback(self) -> str | None:
        """Label that unseen labels map to, or None (they map to :data:`UNKNOWN_INDEX`)."""
        return self._fallback

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelVocab):
            return NotImplemented
        return self._labels == other._labels and self._fallback == other._fallback

    def __hash__(self) -> int:
        return hash((self._labels, self._fallback))

    def __repr__(self) -> str:
        return f"LabelVocab({len(self)} labels, fallback={self._fallback!r})"

    def index(self, label: str) -> int:
        """Index of ``label``; unseen labels give the fallback's index or :data:`UNKNOWN_INDEX`."""
        i = self._index.get(label)
        if i is not None:
            return i
        if self._fallback is not None:
            return self._index[self._fallback]
        return UNKNOWN_INDEX

    def encode(self, labels: Iterable[str]) -> list[int]:
        """:meth:`index` of each label."""
        return [self.index(x) for x in labels]

    def label(self, index: int) -> str:
        """Label at ``index``; raises IndexError for indices outside ``[0, len)`` (including -1)."""
        if not 0 <= int(index) < len(self._labels):
            raise IndexError(f"label index {index} out of range [0, {len(self._labels)})")
        return self._labels[int(index)]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """:meth:`label` of each index."""
        return [self.label(i) for i in indices]


def build_intent_vocab(examples: Iterable[Example]) -> LabelVocab:
    """Sorted vocab of the intents in ``examples``; no fallback (unseen intents -> -1)."""
    return LabelVocab.build(ex.intent for ex in examples)


def build_tag_vocab(examples: Iterable[Example]) -> LabelVocab:
    """Vocab of the slot tags in ``examples``: ``"O"`` at index 0 and as fallback, then sorted tags."""
    return LabelVocab.build(
        (t for ex in examples if ex.tags is not None for t in ex.tags), fallback=OUTSIDE_TAG
    )
