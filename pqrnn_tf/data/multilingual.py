"""Multilingual sets from the ChatterBot dialog corpus: language identification and topic.

Source: the YAML files ``chatterbot_corpus/data/<language>/<topic>.yml`` of the wheel
of PyPI ``chatterbot-corpus`` 1.3.3 (BSD licence, Gunther Cox and contributors). Each
file holds conversations (lists of utterances) on one topic in one language: short
conversational sentences, questions and answers, from one word ("สวัสดี") to a few
sentences. 28 languages in 16 scripts: Latin (english, dutch, french, german,
indonesian, italian, portuguese, spanish, swedish, turkish, yoruba, hinglish),
Cyrillic (russian, ukrainian), Arabic (persian, urdu), Hebrew, Devanagari (hindi,
marathi), Bengali, Oriya, Tamil, Telugu, Thai, Han (chinese, traditionalchinese),
Japanese and Hangul (korean).

``multilingual_langid``: the label is the language (the folder name). Utterances are
whitespace-normalized; one that occurs in two or more languages (e.g. "Hello" in
english and hinglish) is dropped, since its label is ambiguous, and one repeated
within a language is kept once: 13,427 examples (train / dev / test 10,742 / 1,340 /
1,345). Languages range from english (1,754) and persian (1,626) to thai (13) and
telugu (11), so a few languages have only 1 or 2 test utterances: accuracy is
dominated by the large languages.

``multilingual_topic``: the label is the topic (the file name, mapped to one English
name by :data:`TOPIC_ALIASES`), over the topics found in at least
:data:`MIN_TOPIC_LANGUAGES` languages, without the grab-bag files "conversations"
and "trivia". An utterance that occurs under two topics is dropped; the text keeps
its language (several languages in one set: the model must find the topic in any).
17 topics, 10,341 examples (8,271 / 1,032 / 1,038), from emotion (2,208) to health (110).

Split (both sets, :data:`SPLIT_SEED`, :func:`pqrnn_tf.data.splits.stratified_split`):
per label, 80% train / 10% dev / 10% test.
"""
from __future__ import annotations

import functools
import os
import zipfile
from collections import defaultdict
from pathlib import Path

from pqrnn_tf.data import pypi_source
from pqrnn_tf.data.examples import Example
from pqrnn_tf.data.readers import DataError
from pqrnn_tf.data.splits import SPLITS, stratified_split

SOURCE = pypi_source.SourceArchive(
    name="chatterbot-corpus", version="1.3.3",
    filename="chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
    sha256="86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154")
DATA_PREFIX = "chatterbot_corpus/data/"
#: File names that name a topic in another language or spelling -> the English name.
TOPIC_ALIASES = {
    "botprofile": "profile", "perfilbot": "profile", "ia": "ai", "dinero": "money",
    "emociones": "emotion", "emotions": "emotion", "psicologia": "psychology",
    "computer": "computers", "coversations": "conversations", "sport": "sports",
    "greeting": "greetings",
}
#: Catch-all files, not a topic.
EXCLUDED_TOPICS = frozenset({"conversations", "trivia"})
MIN_TOPIC_LANGUAGES = 5
SPLIT_SEED = 16
SPLIT_FRACTIONS = (0.8, 0.1)


def _utterances(data: bytes, name: str) -> list[str]:
    """The whitespace-normalized utterances of one corpus YAML file."""
    import yaml  # pylint: disable=g-import-not-at-top
    try:
        document = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise DataError(name, None, f"not a UTF-8 YAML corpus file ({e})") from None
    conversations = document.get("conversations") if isinstance(document, dict) else None
    if not isinstance(conversations, list):
        raise DataError(name, None, "has no 'conversations' list")
    texts = []
    for conversation in conversations:
        for utterance in conversation if isinstance(conversation, list) else [conversation]:
            if not isinstance(utterance, (str, int, float)):
                raise DataError(name, None, f"utterance {utterance!r} is not text")
            text = " ".join(str(utterance).split())
            if text:
                texts.append(text)
    return texts


def read_corpus(path: str | os.PathLike) -> list[tuple[str, str, str]]:
    """(language, topic, text) of every utterance in a chatterbot-corpus wheel, in file
    order (files sorted by name); topics are file names mapped by :data:`TOPIC_ALIASES`."""
    rows = []
    with zipfile.ZipFile(path) as wheel:
        names = sorted(n for n in wheel.namelist()
                       if n.startswith(DATA_PREFIX) and n.endswith(".yml") and
                       n[len(DATA_PREFIX):].count("/") == 1)
        if not names:
            raise DataError(path, None, f"has no {DATA_PREFIX}<language>/<topic>.yml files")
        for name in names:
            language, file_name = name[len(DATA_PREFIX):].split("/")
            topic = file_name[:-len(".yml")].lower()
            topic = TOPIC_ALIASES.get(topic, topic)
            for text in _utterances(wheel.read(name), f"{path}!{name}"):
                rows.append((language, topic, text))
    return rows


def _unambiguous(pairs: list[tuple[str, str]]) -> list[Example]:
    """Example(text, label) of each distinct text that has one label, in first-seen order."""
    labels: dict[str, set[str]] = defaultdict(set)
    for text, label in pairs:
        labels[text].add(label)
    return [Example(text, next(iter(ls))) for text, ls in labels.items() if len(ls) == 1]


def langid_examples(rows: list[tuple[str, str, str]]) -> list[Example]:
    """Language identification examples of :func:`read_corpus` rows."""
    return _unambiguous([(text, language) for language, _, text in rows])


def topic_examples(rows: list[tuple[str, str, str]]) -> list[Example]:
    """Topic examples of :func:`read_corpus` rows (see the module docstring)."""
    languages: dict[str, set[str]] = defaultdict(set)
    for language, topic, _ in rows:
        languages[topic].add(language)
    kept = {t for t, ls in languages.items()
            if len(ls) >= MIN_TOPIC_LANGUAGES and t not in EXCLUDED_TOPICS}
    return _unambiguous([(text, topic) for _, topic, text in rows if topic in kept])


@functools.lru_cache(maxsize=4)
def _splits(path: str, task: str) -> dict[str, list[Example]]:
    rows = read_corpus(path)
    examples = langid_examples(rows) if task == "langid" else topic_examples(rows)
    return stratified_split(examples, SPLIT_FRACTIONS, SPLIT_SEED)


def _read(task: str, split: str, wheel: str | os.PathLike | None) -> list[Example]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = Path(wheel) if wheel is not None else pypi_source.fetch(SOURCE)
    return list(_splits(os.fspath(path), task)[split])


def read_multilingual_langid(split: str, wheel: str | os.PathLike | None = None) -> list[Example]:
    """``split`` of the 28-language identification set; ``wheel`` defaults to the cached
    chatterbot-corpus wheel (:func:`pqrnn_tf.data.pypi_source.fetch`)."""
    return _read("langid", split, wheel)


def read_multilingual_topic(split: str, wheel: str | os.PathLike | None = None) -> list[Example]:
    """``split`` of the multilingual topic set; ``wheel`` as in :func:`read_multilingual_langid`."""
    return _read("topic", split, wheel)
