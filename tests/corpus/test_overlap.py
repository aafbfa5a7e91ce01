"""`kmb corpus overlap`: planted evaluation items (exact, respaced, inside a longer sentence) are
found in a small corpus, ordinary ones are not; every input format; the JSON; bad input."""

from __future__ import annotations

import json
import unicodedata

import pytest

from kmb.corpus.overlap import (
    NGRAM_CHARS,
    OverlapIndex,
    OverlapOptions,
    corpus_overlap,
    detect_format,
    normalise_for_match,
    read_eval_items,
    spaceless,
)
from kmb.errors import KmbError
from kmb.storage import SENTENCES, write_rows

ORDINARY = [
    "고혈압 환자는 싱겁게 먹어야 한다.",
    "하루 30분 걷기가 혈압 조절에 도움이 된다고 연구팀은 밝혔다.",
    "독감 예방접종은 매년 맞는 것이 좋다.",
    "수면의 질이 낮으면 낮 동안 집중력이 떨어진다.",
    "당뇨병 환자의 혈당은 식후에 크게 오른다.",
    "보건당국은 올겨울 호흡기 감염병 유행에 대비하라고 당부했다.",
]
# Evaluation sentences, each planted in the corpus in one way (or not at all).
EXACT = "한 남자가 병원 앞에서 자전거를 타고 있다."
RESPACED = "의료진은 환자의 상태가 빠르게 호전되고 있다고 설명했다."
RESPACED_IN_CORPUS = "의료 진은 환자의상태가 빠르게 호전되고있다고 설명했다."
INSIDE = "감염병 전문가들은 마스크 착용이 여전히 중요하다고 강조했다"
INSIDE_IN_CORPUS = (
    "지난 3일 열린 토론회에서 감염병 전문가들은 마스크 착용이 여전히 중요하다고 강조했다고 주최 측이 전했다."
)
NOT_PLANTED = [
    "아이가 공원에서 강아지와 함께 뛰어놀고 있다.",
    "여성이 부엌에서 양파를 썰고 있다.",
    "고양이가 창가에 앉아 바깥을 내다보고 있다.",
]


def corpus_rows(texts, doc="c"):
    return [
        {"doc_id": f"{doc}:{i}", "source": "news", "sent_idx": 0, "text": t, "split": "train"}
        for i, t in enumerate(texts)
    ]


@pytest.fixture
def corpus(workspace):
    """A corpus of two parts: ordinary sentences and the planted copies."""
    folder = workspace.corpus / "sentences"
    write_rows(folder / "part-1.parquet", corpus_rows(ORDINARY), SENTENCES)
    planted = [EXACT, RESPACED_IN_CORPUS, INSIDE_IN_CORPUS]
    write_rows(folder / "part-2.parquet", corpus_rows(planted, doc="p"), SENTENCES)
    return workspace


def korsts(tmp_path, name="sts.tsv"):
    rows = [
        ("5.0", EXACT, NOT_PLANTED[0]),  # planted on side 1
        ("3.2", NOT_PLANTED[1], RESPACED),  # planted with other spacing, on side 2
        ("1.0", NOT_PLANTED[2], NOT_PLANTED[0]),  # not planted
        ("4.0", INSIDE + ".", NOT_PLANTED[1]),  # inside a longer corpus sentence
    ]
    lines = ["genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2"]
    lines += [f"news\tx\t2020\t{i:04d}\t{s}\t{a}\t{b}" for i, (s, a, b) in enumerate(rows)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def klue_ner(tmp_path):
    """KLUE-NER's character TSV: the reader keeps characters, not spaces."""
    lines = ["## 토큰, 레이블 구분자 : \\t"]
    for number, sentence in enumerate([RESPACED, NOT_PLANTED[2]]):
        lines.append(f"## klue-ner-{number}\t{sentence}")
        lines += [f"{c}\tO" for c in sentence]
        lines.append("")
    path = tmp_path / "ner.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def files_of_every_format(tmp_path) -> dict[str, tuple]:
    """format -> (file, items, numbers of the overlapping items)."""
    kmbert_lines = [f"{w} {'X' * len(w)} O" for w in EXACT.split()] + [""]
    kmbert_lines += [f"{w} {'X' * len(w)} O" for w in NOT_PLANTED[0].split()]
    conll_lines = [f"{w} O" for w in NOT_PLANTED[1].split()] + [""] + [f"{w} O" for w in RESPACED.split()]
    sts_json = [
        {"sentence1": NOT_PLANTED[0], "sentence2": INSIDE, "labels": {"real-label": 2.0}},
        {"sentence1": NOT_PLANTED[1], "sentence2": NOT_PLANTED[2], "labels": {"real-label": 1.0}},
    ]
    nli = [
        {"premise": NOT_PLANTED[0], "hypothesis": NOT_PLANTED[1], "gold_label": "neutral"},
        {"premise": RESPACED_IN_CORPUS, "hypothesis": NOT_PLANTED[2], "gold_label": "entailment"},
    ]
    medsts = f'id,split,x,score,s1,s2\n1,train,a,3.0,"{EXACT}",{NOT_PLANTED[0]}\n2,test,a,1.0,{NOT_PLANTED[1]},{NOT_PLANTED[2]}\n'
    return {
        "korsts": (korsts(tmp_path), 4, [1, 2, 4]),
        "klue-ner": (klue_ner(tmp_path), 2, [1]),
        "kmbert": (write(tmp_path, "ner.kmbert", "\n".join(kmbert_lines) + "\n"), 2, [1]),
        "conll": (write(tmp_path, "ner.conll", "\n".join(conll_lines) + "\n"), 2, [2]),
        "klue-sts": (write(tmp_path, "sts.json", json.dumps(sts_json, ensure_ascii=False)), 2, [1]),
        "klue-nli": (write(tmp_path, "nli.json", json.dumps(nli, ensure_ascii=False)), 2, [2]),
        "medsts": (write(tmp_path, "medsts.csv", medsts, encoding="cp949"), 2, [1]),
        "tsv": (write(tmp_path, "cls.tsv", f"label\ttext\na\t{NOT_PLANTED[0]}\nb\t{EXACT}\n"), 2, [2]),
        "csv": (write(tmp_path, "cls.csv", f'text,text_pair,label\n"{INSIDE}",{NOT_PLANTED[0]},a\n'), 1, [1]),
        "jsonl": (
            write(
                tmp_path,
                "items.jsonl",
                "\n".join(
                    json.dumps({"text": t, "id": i}, ensure_ascii=False) for i, t in enumerate(NOT_PLANTED + [RESPACED])
                ),
            ),
            4,
            [4],
        ),
        "text": (write(tmp_path, "items.txt", "\n".join([NOT_PLANTED[0], "", EXACT, NOT_PLANTED[1]]) + "\n"), 3, [2]),
    }


def test_normalise_for_match_nfc_and_white_space():
    decomposed = unicodedata.normalize("NFD", "  한 남자가\t\u3000병원에\n 간다. ")
    assert normalise_for_match(decomposed) == "한 남자가 병원에 간다."
    assert spaceless(decomposed) == "한남자가병원에간다."


def test_every_format_detected_and_planted_items_found(corpus, tmp_path):
    files = files_of_every_format(tmp_path)
    for fmt, (path, items, _) in files.items():
        assert detect_format(path) == fmt, path.name
        assert len(read_eval_items(path).items) == items, fmt
    report = corpus_overlap(corpus, [f[0] for f in files.values()], OverlapOptions(sample=10))
    assert report.corpus_sentences == len(ORDINARY) + 3 and report.corpus_files == 2
    for (fmt, (path, items, overlapping)), summary in zip(files.items(), report.files):
        assert (summary["path"], summary["format"], summary["items"]) == (str(path), fmt, items)
        assert [s["item"] for s in summary["sample"]] == overlapping, fmt
        assert summary["overlapping"] == len(overlapping)


def test_text_that_starts_with_a_bracket_is_text(tmp_path):
    path = write(
        tmp_path, "news.txt", "[헬스조선] 독감 예방접종은 매년 맞아야 한다.\n{속보} 병원 앞에서 사고가 났다.\n"
    )
    assert detect_format(path) == "text"
    assert [i.texts for i in read_eval_items(path).items] == [
        ("[헬스조선] 독감 예방접종은 매년 맞아야 한다.",),
        ("{속보} 병원 앞에서 사고가 났다.",),
    ]
    with pytest.raises(KmbError, match="empty file"):
        read_eval_items(write(tmp_path, "empty.json", "[]"))


def test_kinds_sides_and_sample(corpus, tmp_path):
    summary = corpus_overlap(corpus, [korsts(tmp_path)]).files[0]
    assert summary["by_kind"] == {"exact": 1, "spacing": 1, "span": 1}
    exact, respaced, inside = summary["sample"]
    assert (exact["kind"], exact["side"], exact["text"], exact["doc_id"]) == ("exact", 0, EXACT, "p:0")
    assert (respaced["kind"], respaced["side"], respaced["corpus_sentence"]) == ("spacing", 1, RESPACED_IN_CORPUS)
    assert inside["kind"] == "span" and inside["corpus_sentence"] == INSIDE_IN_CORPUS
    assert len(inside["span"]) == NGRAM_CHARS and inside["span"] in spaceless(INSIDE)
    assert corpus_overlap(corpus, [korsts(tmp_path)], OverlapOptions(sample=1)).files[0]["sample"] == [exact]


def test_short_items_match_only_whole_and_ngram_is_an_option(workspace, tmp_path):
    # "혈압 조절에 도움이" (8 characters without spaces) sits inside an ordinary sentence.
    write_rows(workspace.corpus / "sentences" / "part-1.parquet", corpus_rows(ORDINARY), SENTENCES)
    items = write(tmp_path, "short.txt", "혈압 조절에 도움이\n고혈압 환자는 싱겁게 먹어야 한다.\n")
    summary = corpus_overlap(workspace, [items]).files[0]
    assert [s["item"] for s in summary["sample"]] == [2]
    summary = corpus_overlap(workspace, [items], OverlapOptions(ngram=6)).files[0]
    assert [s["item"] for s in summary["sample"]] == [1, 2]


def test_batches_and_the_mask_for_a_later_step(corpus, tmp_path):
    # One sentence per batch gives the same answer as the default batches.
    path = korsts(tmp_path)
    assert corpus_overlap(corpus, [path], OverlapOptions(batch_rows=1)).files == corpus_overlap(corpus, [path]).files
    index = OverlapIndex()
    index.add(((n, item.number), item.texts) for n, item in enumerate(read_eval_items(path).items))
    mask = index.match_batch(ORDINARY + [EXACT, RESPACED_IN_CORPUS, INSIDE_IN_CORPUS])
    assert mask.tolist() == [False] * len(ORDINARY) + [True, True, True]


def test_cli_table_and_json(corpus, tmp_path, run_kmb):
    path = korsts(tmp_path)
    code, out, err = run_kmb("corpus", "overlap", path, "--workspace", corpus.root)
    assert code == 0, err
    assert "korsts" in out and "4" in out and "75.0%" in out and EXACT in out
    code, out, err = run_kmb(
        "corpus", "overlap", path, klue_ner(tmp_path), "-w", corpus.root, "--json", "--sample", "2"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["ngram"] == NGRAM_CHARS and report["corpus"] == {"files": 2, "sentences": 9}
    sts, ner = report["files"]
    assert (sts["items"], sts["overlapping"], len(sts["sample"])) == (4, 3, 2)
    assert (ner["format"], ner["items"], ner["overlapping"]) == ("klue-ner", 2, 1)
    assert ner["sample"][0]["corpus_sentence"] == RESPACED_IN_CORPUS and ner["sample"][0]["kind"] == "spacing"


def _listing(root):
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown-format", "unknown evaluation format 'xml'"),
        ("empty", "empty file"),
        ("blank", "empty file"),
        ("missing", "file not found"),
        ("undetectable", "cannot tell the format"),
        ("no-corpus", "no corpus sentences yet"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(case, message, workspace, tmp_path, run_kmb):
    if case != "no-corpus":
        write_rows(workspace.corpus / "sentences" / "part-1.parquet", corpus_rows(ORDINARY), SENTENCES)
    path, extra = korsts(tmp_path), []
    if case == "unknown-format":
        extra = ["--format", "xml"]
    elif case == "empty":
        path = write(tmp_path, "empty.tsv", "")
    elif case == "blank":
        path = write(tmp_path, "blank.txt", " \n\n")
    elif case == "missing":
        path = tmp_path / "nowhere.tsv"
    elif case == "undetectable":
        path = write(tmp_path, "odd.tsv", "a\tb\nc\td\n")
    before = _listing(workspace.root)
    code, out, err = run_kmb("corpus", "overlap", path, "-w", workspace.root, *extra)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert _listing(workspace.root) == before


def test_a_missing_workspace_is_not_created(tmp_path, run_kmb):
    code, _, err = run_kmb("corpus", "overlap", korsts(tmp_path), "-w", tmp_path / "no-ws")
    assert code == 1 and "no corpus sentences yet" in err
    assert not (tmp_path / "no-ws").exists()


def test_library_errors(corpus, tmp_path):
    with pytest.raises(KmbError, match="name at least one"):
        corpus_overlap(corpus, [])
    with pytest.raises(KmbError, match="not a file"):
        read_eval_items(tmp_path)
    with pytest.raises(KmbError, match="non-empty 'text'"):
        read_eval_items(write(tmp_path, "bad.jsonl", '{"label": "a"}\n'))
    with pytest.raises(KmbError, match="empty file"):
        read_eval_items(write(tmp_path, "docstart.conll", "-DOCSTART-\n\n-DOCSTART-\n"))
    with pytest.raises(KmbError, match="at least 1"):
        OverlapIndex(ngram=0)


def test_real_korsts_and_klue_planted_in_a_corpus(shared_data, workspace):
    sts = read_eval_items(shared_data / "korsts" / "sts-dev.tsv")
    ner = read_eval_items(shared_data / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv")
    assert (sts.format, len(sts.items), ner.format, len(ner.items)) == ("korsts", 1500, "klue-ner", 1000)
    planted = [sts.items[10].texts[1], sts.items[500].texts[0], "앞부분에 덧붙인 말 " + ner.items[3].texts[0]]
    write_rows(workspace.corpus / "sentences" / "part-1.parquet", corpus_rows(ORDINARY + planted), SENTENCES)
    report = corpus_overlap(workspace, [sts.path, ner.path])
    assert [f["overlapping"] for f in report.files] >= [2, 1]
    assert {s["item"] for s in report.files[0]["sample"]} >= {11, 501}
    assert 4 in {s["item"] for s in report.files[1]["sample"]}
