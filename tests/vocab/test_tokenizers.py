"""Tokenizer directories: the known transformers 5 / tokenizers 0.23 traps, pinned on Hangul text;
loading either WordPiece; bad vocab files. (The bidirectional tokenizer's own API:
test_bidirectional_tokenizer.py.)"""

from __future__ import annotations

import json
import unicodedata

import pytest
from typer.testing import CliRunner

from kmb.errors import KmbError
from kmb.vocab.tokenizers import forward_tokenizer_from_tokens, load_tokenizer, save_tokenizer_dir

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENS = SPECIALS + [
    ".", "##은", "##을", "고", "##혈", "##압", "혈", "압", "연", "##세", "연세대", "##출", "##대출",
    "북한이", "북한", "##므", "##로", "##이므로", "Café", "고혈압", "당뇨", "##병",
]  # fmt: skip


def has_jamo(text: str) -> bool:
    return any(0x1100 <= ord(ch) <= 0x11FF for ch in text)


@pytest.fixture
def tok_dir(tmp_path):
    out = tmp_path / "tok"
    out.mkdir()
    return save_tokenizer_dir(TOKENS, out)


# --- the traps --------------------------------------------------------------------------------
def test_trap_lowercase_without_strip_accents_turns_hangul_into_jamo(tok_dir):
    from tokenizers import normalizers

    trap = normalizers.BertNormalizer(lowercase=True, strip_accents=None)
    assert has_jamo(trap.normalize_str("고혈압"))  # the trap is real
    tok = load_tokenizer(tok_dir)
    assert tok.backend_tokenizer.normalizer.normalize_str("고혈압 Café") == "고혈압 Café"
    assert tok.tokenize("고혈압은") == ["고혈압", "##은"]


def test_trap_vocab_file_is_ignored_by_transformers_5(tok_dir):
    from transformers import BertTokenizer

    trap = BertTokenizer(vocab_file=str(tok_dir / "vocab.txt"))
    assert len(trap) == 5  # silently the 5 specials only
    assert len(forward_tokenizer_from_tokens(TOKENS)) == len(TOKENS)  # `vocab=` is what works


def test_trap_a_vocab_txt_only_directory_loads_lowercased_and_nfd(tmp_path):
    from transformers import AutoTokenizer

    folder = tmp_path / "krbert-like"  # what a model directory with only vocab.txt + config.json gives
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    trap = AutoTokenizer.from_pretrained(str(folder))
    assert trap.tokenize("고혈압은") == ["[UNK]"]  # lower-cased with strip_accents=None: NFD jamo
    assert has_jamo(trap.backend_tokenizer.normalizer.normalize_str("고혈압"))
    tok = load_tokenizer(folder)
    assert len(tok) == len(TOKENS)
    assert tok.tokenize("고혈압은 연세대출") == ["고혈압", "##은", "연세대", "##출"]


def test_trap_folder_loaded_tokenizer_keeps_no_accent_stripping(tok_dir):
    from transformers import AutoTokenizer

    config = json.loads((tok_dir / "tokenizer_config.json").read_text())
    assert config["do_lower_case"] is False and config["strip_accents"] is False
    tok = AutoTokenizer.from_pretrained(str(tok_dir))  # plain transformers, as a user would
    normalizer = tok.backend_tokenizer.normalizer
    assert not has_jamo(normalizer.normalize_str("고혈압"))
    assert normalizer.normalize_str("Café") == "Café"
    assert tok.tokenize("Café 고혈압은") == ["Café", "고혈압", "##은"]
    assert all(unicodedata.is_normalized("NFC", t) for t in tok.tokenize("고혈압은 당뇨병"))


def test_trap_bare_wordpiece_has_no_cls_sep_post_processor(tok_dir):
    from tokenizers import Tokenizer
    from tokenizers.models import WordPiece
    from tokenizers.pre_tokenizers import BertPreTokenizer

    bare = Tokenizer(WordPiece({t: i for i, t in enumerate(TOKENS)}, unk_token="[UNK]"))
    bare.pre_tokenizer = BertPreTokenizer()
    assert bare.encode("고혈압").tokens == ["고혈압"]  # no [CLS]/[SEP]
    tok = load_tokenizer(tok_dir)
    enc = tok("고혈압", "당뇨병")
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == ["[CLS]", "고혈압", "[SEP]", "당뇨", "##병", "[SEP]"]
    assert enc["token_type_ids"] == [0, 0, 0, 1, 1, 1]


def test_cli_tokenize_prints_one_line_per_text(tok_dir):
    from kmb.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["vocab", "tokenize", "--vocab", str(tok_dir), "--bidirectional", "연세대출은", "북한이므로 고혈압"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["연 ##세 ##대출 ##은", "북한이 ##므 ##로 고혈압"]
    forward = runner.invoke(app, ["vocab", "tokenize", "--vocab", str(tok_dir), "연세대출"])
    assert forward.output.splitlines() == ["연세대 ##출"]


@pytest.mark.parametrize(
    "lines, message",
    [
        (TOKENS + ["고혈압"], "duplicate token '고혈압'"),
        ([t for t in TOKENS if t != "[MASK]"], r"lacks the special token\(s\) \[MASK\]"),
        (TOKENS[:7] + [""] + TOKENS[7:], "blank line"),
    ],
)
def test_bad_vocab_is_one_clear_error(tmp_path, lines, message):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KmbError, match=message):
        load_tokenizer(folder)
    with pytest.raises(KmbError, match=message):
        load_tokenizer(folder, bidirectional=True)
