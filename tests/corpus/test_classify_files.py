"""Classification file readers: TSV, CSV, JSON lines, KLUE-NLI JSON; bad input names the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmb.corpus.classify_files import ClassifyExample, read_classify
from kmb.errors import KmbError

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "classify"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_samples():
    single = read_classify(SAMPLES / "medical_sentences.tsv")
    assert len(single) == 126 and {e.label for e in single} == {"BD", "DS", "ST", "none"}
    assert all(e.text_pair is None for e in single) and single[0].line == 2
    pairs = read_classify(SAMPLES / "medical_paraphrase_train.tsv")
    assert len(pairs) == 120 and all(e.text_pair for e in pairs)
    assert {e.label for e in pairs} == {"similar", "different"}


def test_tsv_columns_by_name_in_any_order(tmp_path):
    path = _write(tmp_path / "d.tsv", 'label\tid\ttext\nDS\t1\t"당뇨병" 환자\n\nST\t2\t두통이 심하다.\n')
    assert read_classify(path) == [
        ClassifyExample('"당뇨병" 환자', "DS", None, 2),
        ClassifyExample("두통이 심하다.", "ST", None, 4),
    ]


def test_csv_quoting_and_the_line_a_row_starts_on(tmp_path):
    path = _write(tmp_path / "d.csv", 'text,text_pair,label\n"열, 기침","여러 줄\n설명",yes\n두통,어지럼,no\n')
    examples = read_classify(path)
    assert examples[0] == ClassifyExample("열, 기침", "yes", "여러 줄\n설명", 2)
    assert examples[1].line == 4 and examples[1].text_pair == "어지럼"


def test_json_lines_with_text_pairs_and_numeric_labels(tmp_path):
    rows = [
        {"text": "두통", "text_pair": "머리가 아프다", "label": 1},
        {"text": "기침", "text_pair": "열", "label": 0, "extra": True},
    ]
    path = _write(tmp_path / "d.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    assert read_classify(path) == [
        ClassifyExample("두통", "1", "머리가 아프다", 1),
        ClassifyExample("기침", "0", "열", 2),
    ]


def test_klue_nli_json(tmp_path):
    records = [
        {
            "guid": "klue-nli-v1_train_00000",
            "source": "NSMC",
            "premise": "당뇨병 환자는 매일 발 상태를 확인해야 한다.",
            "hypothesis": "당뇨가 있는 사람은 날마다 발을 살펴보는 것이 좋다.",
            "gold_label": "entailment",
            "author": "entailment",
            "label2": "entailment",
        },
        {
            "guid": "klue-nli-v1_train_00001",
            "source": "NSMC",
            "premise": "두통이 심하다.",
            "hypothesis": "머리가 전혀 아프지 않다.",
            "gold_label": "contradiction",
        },
    ]
    path = _write(tmp_path / "klue-nli-v1.1_train.json", json.dumps(records, ensure_ascii=False, indent=4))
    examples = read_classify(path)  # .json -> klue-nli
    assert [(e.text, e.text_pair, e.label) for e in examples] == [
        (r["premise"], r["hypothesis"], r["gold_label"]) for r in records
    ]
    assert [e.line for e in examples] == [2, 11]  # where each record opens
    assert read_classify(path, "klue-nli") == examples


BAD = [
    ("missing.tsv", "text\tgold\n두통\tST\n", "d.tsv:1: the header lacks the column label"),
    ("empty.tsv", "", "d.tsv:1: empty file"),
    ("header-only.tsv", "text\tlabel\n", "d.tsv:1: no examples found"),
    ("blank-label.tsv", "text\tlabel\n두통\tST\n기침\t \n", "d.tsv:3: empty 'label'"),
    ("columns.tsv", "text\tlabel\n두통\tST\t더\n", "d.tsv:2: expected 2 columns"),
    (
        "pair-gap.jsonl",
        '{"text": "a", "text_pair": "b", "label": "x"}\n{"text": "c", "label": "y"}\n',
        "d.jsonl:2: missing 'text_pair'",
    ),
    ("bad.jsonl", '{"text": "a", "label": "x"}\n{"text": \n', "d.jsonl:2: not valid JSON"),
    ("no-label.jsonl", '{"text": "a"}\n', "d.jsonl:1: missing 'label'"),
    (
        "nli.json",
        '[\n  {"premise": "a", "hypothesis": "b", "gold_label": "neutral"},\n  {"premise": "a", "hypothesis": "b"}\n]',
        "d.json:3: missing 'gold_label'",
    ),
    ("nli-object.json", '{"premise": "a"}', "d.json:1: expected a JSON list"),
]


@pytest.mark.parametrize("name, text, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_error_naming_file_and_line(tmp_path, name, text, message):
    path = _write(tmp_path / ("d" + Path(name).suffix), text)
    with pytest.raises(KmbError) as caught:
        read_classify(path)
    assert str(caught.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message.split(":", 1)[1] in str(caught.value)
    assert "\n" not in str(caught.value)


def test_non_utf8_names_the_line_of_the_bad_bytes(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_bytes("text\tlabel\n두통\tST\n".encode() + "기침\tST\n".encode("cp949"))
    with pytest.raises(KmbError, match=r"d\.tsv:3: not UTF-8 text"):
        read_classify(path)


def test_unknown_suffix_and_format(tmp_path):
    path = _write(tmp_path / "d.xml", "<x/>")
    with pytest.raises(KmbError, match="--format"):
        read_classify(path)
    with pytest.raises(KmbError, match="unknown classification format 'xml'"):
        read_classify(path, "xml")
