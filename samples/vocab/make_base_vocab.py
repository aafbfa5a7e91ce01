"""Write base_vocab.txt: a small stand-in for KR-BERT's character vocab, in the same format.

KR-BERT's own vocab has no licence, so kmb ships this one, written by us for demos and tests:
[PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4; a short hand-written list of frequent pieces (lower id
= more frequent, which the bidirectional tokenizer relies on); then coverage blocks: ASCII
punctuation, digits and letters, and the 2,350 Hangul syllables of KS X 1001 (the ones EUC-KR can
encode), each word-initial and as a ## continuation, so no Korean word of common text is [UNK].

    python samples/vocab/make_base_vocab.py      # rewrites samples/vocab/base_vocab.txt
"""

from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Frequent pieces, roughly by frequency in Korean prose (our own choice, not counted from any corpus).
FREQUENT = (
    ". ##을 ##의 , ##이 ##에 ##는 ##은 ##를 ##가 ##다 ##하 ##고 ##으로 ##로 ##에서 ##한 ##과 ##와 ##도 "
    "##하는 ##하여 ##된다 ##한다 ##이다 ##있다 ##수 ##적 ##인 ##된 ##할 ##들 ##에게 ##부터 ##까지 ##만 "
    "있다 수 이 그 등 및 또는 것 경우 때 더 한 할 하는 위해 통해 대한 따라 같은 다른 "
    "환자 치료 질환 증상 검사 진단 약물 혈압 혈관 심장 ##혈 ##압 ##증 ##병 ##염 ##제 ##약"
).split()
LETTERS = [chr(c) for c in range(33, 127) if not chr(c).isspace()]


def ks_x_1001_syllables() -> list[str]:
    out = []
    for cp in range(0xAC00, 0xD7A4):
        # Python's euc-kr codec also writes the other syllables as 8-byte jamo sequences: skip those.
        if len(chr(cp).encode("euc-kr")) == 2:
            out.append(chr(cp))
    return out


def main() -> None:
    tokens = list(SPECIALS)
    for piece in FREQUENT + LETTERS + ["##" + c for c in LETTERS if c.isalnum()]:
        if piece not in tokens:
            tokens.append(piece)
    seen = set(tokens)
    for syllable in ks_x_1001_syllables():
        for piece in (syllable, "##" + syllable):
            if piece not in seen:
                seen.add(piece)
                tokens.append(piece)
    out = Path(__file__).with_name("base_vocab.txt")
    out.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    print(f"{len(tokens)} tokens -> {out}")


if __name__ == "__main__":
    main()
