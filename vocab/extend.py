"""Grow a masked-LM's token embeddings from its base vocab to an extended vocab (`kmb vocab extend-model`).

Any ``AutoModelForMaskedLM`` family (BERT, RoBERTa, XLM-R, ModernBERT, ...) and BertForPreTraining:
the extended vocab keeps every base token at its id and appends new ones (WordPiece entries, or
added tokens on a BPE/Unigram base), so the base rows of the input embeddings (and of the tied MLM
decoder and its output bias) are copied unchanged and only the appended rows need values. Two ways
to fill them:

- ``normal`` (default): N(0, initializer_range), output bias 0. The KM-BERT paper's way (it
  initialised the new embeddings at random and found the extended model slightly worse than the
  base one).
- ``subword-mean`` (recommended): each new token starts as the mean of the embeddings of the
  pieces the *base* tokenizer splits it into (Fast Vocabulary Transfer, Gee et al. 2022), and its
  output bias as the mean of those pieces' biases. So 고혈압 starts where 고 ##혈 ##압 together
  pointed. A token the base tokenizer cannot split (it gives [UNK], or e.g. an ``[unusedN]`` pad
  token) falls back to the mean of all base embeddings.

The saved directory holds the plain class (config.json's ``architectures``) and the new tokenizer,
so plain ``AutoTokenizer`` and ``AutoModelForMaskedLM`` load it.
"""

from __future__ import annotations

from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import MODEL_OUTPUT, atomic_dir, check_output_dir

INITS = ("normal", "subword-mean")  # the paper's first; the default


def _vocab_tokens(tokenizer) -> list[str]:
    """The tokenizer's tokens in id order (id = index)."""
    vocab = tokenizer.get_vocab()
    tokens = [""] * len(vocab)
    for token, idx in vocab.items():
        if idx >= len(tokens):
            raise KmbError(f"token ids are not contiguous: {token!r} has id {idx} in a vocab of {len(vocab)}")
        tokens[idx] = token
    return tokens


def base_piece_ids(base_tokenizer, token: str) -> list[int]:
    """Ids of the pieces `base_tokenizer` splits `token` into; [] when it cannot (any [UNK]).

    A continuation token ``##xyz`` is split as the word ``xyz`` whose first piece is taken in
    its ``##`` form when the base vocab has it (that is the piece it replaces inside a word).
    """
    continuation = token.startswith("##") and len(token) > 2
    text = token[2:] if continuation else token
    pieces = base_tokenizer.tokenize(text)
    if not pieces:
        return []
    vocab = base_tokenizer.get_vocab()
    if continuation and not pieces[0].startswith("##") and "##" + pieces[0] in vocab:
        pieces[0] = "##" + pieces[0]
    unk = base_tokenizer.unk_token
    if (unk is not None and unk in pieces) or any(p not in vocab for p in pieces):
        return []
    return [vocab[p] for p in pieces]


def extend_embeddings(model, base_tokenizer, new_tokenizer, init: str = "normal", seed: int = 0):
    """Resize `model`'s token embeddings (and tied MLM decoder + bias) from base to new vocab, in place;
    base ids keep their exact weights. normal (the paper's): N(0, initializer_range), bias 0;
    subword-mean: each new token = mean of the embeddings of the pieces `base_tokenizer` splits it
    into (output bias likewise). Returns model."""
    import torch

    check_init(init, seed)
    base_tokens = _vocab_tokens(base_tokenizer)
    new_tokens = _vocab_tokens(new_tokenizer)
    n_base, n_new = len(base_tokens), len(new_tokens)
    rows = model.get_input_embeddings().weight.shape[0]
    if rows != n_base:
        raise KmbError(f"the model has {rows} token embeddings but the base vocab has {n_base} tokens")
    if n_new < n_base or new_tokens[:n_base] != base_tokens:
        first = next((i for i, (a, b) in enumerate(zip(base_tokens, new_tokens)) if a != b), min(n_base, n_new))
        raise KmbError(
            f"the new vocab does not keep the base vocab at the same ids (first difference at id {first}); "
            "build it with `kmb vocab build --base-vocab` from this model's vocab"
        )

    model.resize_token_embeddings(n_new, mean_resizing=False)
    if n_new == n_base:
        return model

    embeddings = model.get_input_embeddings().weight
    bias = _output_bias(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if init == "normal":
            std = float(getattr(model.config, "initializer_range", 0.02))
            values = torch.randn((n_new - n_base, embeddings.shape[1]), generator=generator) * std
            embeddings[n_base:] = values.to(embeddings.dtype)
            if bias is not None:
                bias[n_base:] = 0.0
        else:
            fallback = embeddings[:n_base].mean(dim=0)
            fallback_bias = bias[:n_base].mean() if bias is not None else None
            for idx in range(n_base, n_new):
                pieces = base_piece_ids(base_tokenizer, new_tokens[idx])
                if pieces:
                    index = torch.tensor(pieces)
                    embeddings[idx] = embeddings[index].mean(dim=0)
                    if bias is not None:
                        bias[idx] = bias[index].mean()
                else:
                    embeddings[idx] = fallback
                    if bias is not None:
                        bias[idx] = fallback_bias
    return model


def check_init(init: str, seed: int) -> None:
    """The --init and --seed options, checked before anything is read or written."""
    if init not in INITS:
        raise KmbError(f"unknown --init {init!r}: choose one of {', '.join(INITS)}")
    if seed < 0:
        raise KmbError(f"--seed must be 0 or more, not {seed}")


def _output_bias(model):
    """The MLM head's per-token output bias, or None for a model without an MLM head."""
    output = model.get_output_embeddings()
    if output is None:
        return None
    bias = getattr(output, "bias", None)
    return bias if bias is not None and bias.shape[0] == model.get_input_embeddings().weight.shape[0] else None


def _model_class(config):
    """The class config.json names; without one, BertForPreTraining for a BERT (kmb's own
    checkpoints), else the family's AutoModelForMaskedLM class."""
    import transformers

    for name in config.architectures or []:
        cls = getattr(transformers, name, None)
        if cls is not None:
            return cls
    if config.model_type == "bert":
        return transformers.BertForPreTraining
    if type(config) not in transformers.MODEL_FOR_MASKED_LM_MAPPING:
        raise KmbError(f"model type {config.model_type!r} has no masked-LM class to extend")
    return transformers.MODEL_FOR_MASKED_LM_MAPPING[type(config)]


def extend_model(
    model_dir: str | Path,
    vocab_dir: str | Path,
    out_dir: str | Path,
    init: str = "normal",
    seed: int = 0,
    force: bool = False,
) -> dict:
    """Load the model in `model_dir` (and its tokenizer), extend it to the tokenizer in `vocab_dir`,
    and save model (safetensors) + new tokenizer to `out_dir` atomically. Returns a summary dict.
    An existing `out_dir` that kmb did not write as a model is refused (`force`: replace another
    kind of kmb output)."""
    from transformers import AutoConfig

    from kmb.vocab.tokenizers import load_tokenizer

    model_dir, vocab_dir, out_dir = Path(model_dir), Path(vocab_dir), Path(out_dir)
    check_init(init, seed)
    check_output_dir(out_dir, MODEL_OUTPUT, force)
    if not (model_dir / "config.json").is_file():
        raise KmbError("not a model directory (no config.json)", path=model_dir)
    base_tokenizer = load_tokenizer(model_dir)
    new_tokenizer = load_tokenizer(vocab_dir)
    config = AutoConfig.from_pretrained(str(model_dir))
    if config.vocab_size != len(base_tokenizer):
        raise KmbError(
            f"config.json says vocab_size {config.vocab_size} but the directory's vocab has "
            f"{len(base_tokenizer)} tokens; the model and its vocab do not belong together",
            path=model_dir / "config.json",
        )
    model = _model_class(config).from_pretrained(str(model_dir))
    n_base = len(base_tokenizer)
    extend_embeddings(model, base_tokenizer, new_tokenizer, init=init, seed=seed)

    with atomic_dir(out_dir, kind=MODEL_OUTPUT, force=force) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        new_tokenizer.save_pretrained(str(tmp))
    return {
        "model": str(model_dir),
        "vocab": str(vocab_dir),
        "out": str(out_dir),
        "init": init,
        "base tokens": n_base,
        "new tokens": len(new_tokenizer) - n_base,
        "vocab size": len(new_tokenizer),
    }
