"""BertForPreTraining that projects to the vocabulary only at the masked positions.

The MLM head (dense + LayerNorm + a hidden x vocab projection) is the single most expensive layer
of a small BERT: for hidden 256 and a 16k vocab it costs more than the whole encoder. Only ~15% of
positions carry a label, so we gather those hidden states first and run the head on them alone;
the loss is identical to the full head's (tests/training check it). Pretraining batches bring the
positions to gather (``masked_positions``, a fixed-size list from the collator); without them the
labels select the positions, which costs one host-device synchronisation on a GPU. The module
names and weights are exactly BertForPreTraining's, so a saved directory is a plain
BertForPreTraining checkpoint.

Loss = MLM cross-entropy (mean over masked tokens) + NSP cross-entropy (mean over pairs). Under
the HF Trainer, ``num_items_in_batch`` carries the *global* counts (all gradient-accumulation
micro-batches, all processes) of masked tokens and pairs, so both means are over the whole
optimizer batch and 2 processes x batch 16 give the same gradients as 1 process x batch 32.

MLM only (RoBERTa-style domain-adaptive pretraining, no NSP): :func:`masked_only_class` turns any
``AutoModelForMaskedLM`` class (BERT ``cls``, RoBERTa/XLM-R ``lm_head``, ModernBERT ``head`` +
``decoder``) into a subclass whose forward gathers the masked positions first and runs the
model's own MLM head on them only; :func:`masked_only_mlm` builds one from a config or a saved
directory. Its weights, module names and saved ``architectures`` are the plain class's, so the
saved directory loads with plain ``AutoModelForMaskedLM``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import BertForPreTraining
from transformers.utils import ModelOutput

from kmb.errors import KmbError
from kmb.training.config import MODEL_CONFIGS  # noqa: F401  (kept importable here)
from kmb.training.masking import IGNORE_INDEX

SAVED_ARCHITECTURE = "BertForPreTraining"


@dataclass
class PretrainingOutput(ModelOutput):
    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    # [n_masked, vocab]; [len(masked_positions), vocab] when given (padding rows included);
    # [batch, len, vocab] without labels
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    mlm_correct: torch.Tensor | None = None
    mlm_count: torch.Tensor | None = None


def gather_targets(hidden: torch.Tensor, labels: torch.Tensor, masked_positions: torch.Tensor | None = None):
    """(hidden states, labels) at the target positions of a [batch, length, hidden] output.

    With ``masked_positions`` (the collator's fixed-size index list into the flattened batch) the
    gather has no data-dependent shape, so the host never waits for the device; padding entries
    carry ignored labels. Without it the labels select (simple, but it synchronises on a GPU)."""
    if masked_positions is not None:
        targets = labels.reshape(-1).index_select(0, masked_positions)
        return hidden.reshape(-1, hidden.shape[-1]).index_select(0, masked_positions), targets
    selected = labels != IGNORE_INDEX
    return hidden[selected], labels[selected]


class MaskedOnlyBertForPreTraining(BertForPreTraining):
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        masked_positions: torch.Tensor | None = None,
        num_items_in_batch: torch.Tensor | None = None,
        **kwargs,
    ) -> PretrainingOutput:
        if attention_mask is not None and attention_mask.dim() == 2 and self.config._attn_implementation == "sdpa":
            # Ready-made [batch, 1, 1, length] boolean mask, broadcast by SDPA over heads and queries.
            # From a 2D mask, transformers first checks on the host whether the batch has padding
            # at all, which makes the host wait for the GPU at every forward.
            attention_mask = attention_mask[:, None, None, :].bool()
        encoded = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)
        nsp_logits = self.cls.seq_relationship(encoded.pooler_output)
        if labels is None:
            return PretrainingOutput(
                prediction_logits=self.cls.predictions(encoded.last_hidden_state), seq_relationship_logits=nsp_logits
            )

        hidden, targets = gather_targets(encoded.last_hidden_state, labels, masked_positions)
        logits = self.cls.predictions(hidden)  # gather first, then project
        mlm_sum = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE_INDEX, reduction="sum")
        is_target = targets != IGNORE_INDEX
        mlm_count = is_target.sum()
        if num_items_in_batch is not None and torch.is_tensor(num_items_in_batch) and num_items_in_batch.numel() == 2:
            n_masked, n_pairs = num_items_in_batch[0], num_items_in_batch[1]
        else:
            n_masked, n_pairs = mlm_count, nsp_logits.shape[0]
        mlm_loss = mlm_sum / n_masked
        loss = mlm_loss
        nsp_loss = None
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(nsp_logits.float(), next_sentence_label.view(-1), reduction="sum") / n_pairs
            loss = loss + nsp_loss
        with torch.no_grad():
            correct = ((logits.argmax(-1) == targets) & is_target).sum()
        return PretrainingOutput(
            loss=loss,
            mlm_loss=mlm_loss.detach(),
            nsp_loss=None if nsp_loss is None else nsp_loss.detach(),
            prediction_logits=logits,
            seq_relationship_logits=nsp_logits,
            mlm_correct=correct,
            mlm_count=mlm_count,
        )


# --- MLM only, any family ----------------------------------------------------------------------
# Families whose encoder takes a ready-made [batch, 1, 1, length] boolean mask under SDPA.
BOOLEAN_MASK_FAMILIES = ("bert", "roberta", "xlm-roberta")


@dataclass
class MaskedLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None  # the loss, detached (as PretrainingOutput's)
    # [n_masked, vocab]; [len(masked_positions), vocab] when given; [batch, len, vocab] without labels
    logits: torch.Tensor | None = None
    mlm_correct: torch.Tensor | None = None
    mlm_count: torch.Tensor | None = None


class MaskedOnlyMLM:
    """Mixed in before an ``...ForMaskedLM`` class by :func:`masked_only_class`: the forward runs
    the encoder, gathers the target positions and applies the class's own MLM head to them.

    Loss = cross-entropy summed over the targets / the number of targets; under the HF Trainer,
    ``num_items_in_batch`` (a count, or kmb's [masked tokens, pairs] pair) gives the global count
    over accumulation steps and processes instead."""

    plain_class: type = None  # the AutoModelForMaskedLM class this one extends
    kmb_known_head = True  # False: a family whose head kmb does not know (see mlm_logits)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor | None:
        """The model's own MLM head applied to ``hidden`` (any leading shape): BERT and legacy
        DeBERTa-v2 ``cls``, RoBERTa/XLM-R ``lm_head``, ModernBERT ``head`` + ``decoder``, ALBERT
        ``predictions``, the ELECTRA generator's ``generator_predictions`` + ``generator_lm_head``,
        DistilBERT's ``vocab_transform`` ... ``vocab_projector``, DeBERTa-v2's ``lm_predictions``.
        None for a family whose head kmb does not know: :meth:`forward` then runs the family's own
        forward (every position) and picks the targets' logits from it."""
        m = self._modules
        if "cls" in m:
            return m["cls"](hidden)
        if "lm_head" in m:
            return m["lm_head"](hidden)
        if "head" in m and "decoder" in m:
            return m["decoder"](m["head"](hidden))
        if "predictions" in m:
            return m["predictions"](hidden)
        if "generator_predictions" in m and "generator_lm_head" in m:
            return m["generator_lm_head"](m["generator_predictions"](hidden))
        if "vocab_projector" in m:
            return m["vocab_projector"](m["vocab_layer_norm"](m["activation"](m["vocab_transform"](hidden))))
        if "lm_predictions" in m:
            return m["lm_predictions"](hidden, self.get_input_embeddings())
        return None

    def _all_position_logits(self, input_ids, attention_mask, labels, masked_positions, **kwargs):
        """The general path: the family's own forward at every position, then the targets' logits."""
        logits = self.plain_class.forward(self, input_ids=input_ids, attention_mask=attention_mask, **kwargs).logits
        return gather_targets(logits, labels, masked_positions)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        masked_positions: torch.Tensor | None = None,
        num_items_in_batch=None,
        **kwargs,
    ) -> MaskedLMOutput:
        if (
            attention_mask is not None
            and attention_mask.dim() == 2
            and self.config.model_type in BOOLEAN_MASK_FAMILIES
            and self.config._attn_implementation == "sdpa"
        ):
            # As MaskedOnlyBertForPreTraining: no host check of the 2D mask at every forward.
            attention_mask = attention_mask[:, None, None, :].bool()
        if not self.kmb_known_head:
            if labels is None:
                return MaskedLMOutput(
                    logits=self.plain_class.forward(
                        self, input_ids=input_ids, attention_mask=attention_mask, **kwargs
                    ).logits
                )
            logits, targets = self._all_position_logits(input_ids, attention_mask, labels, masked_positions, **kwargs)
        else:
            encoder = getattr(self, self.base_model_prefix)
            hidden = encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)[0]
            if labels is None:
                return MaskedLMOutput(logits=self.mlm_logits(hidden))
            hidden, targets = gather_targets(hidden, labels, masked_positions)
            logits = self.mlm_logits(hidden)  # gather first, then project
        mlm_sum = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE_INDEX, reduction="sum")
        is_target = targets != IGNORE_INDEX
        mlm_count = is_target.sum()
        n_masked = mlm_count
        if num_items_in_batch is not None:
            n_masked = (
                num_items_in_batch[0]
                if torch.is_tensor(num_items_in_batch) and num_items_in_batch.numel() == 2
                else num_items_in_batch
            )
        with torch.no_grad():
            correct = ((logits.argmax(-1) == targets) & is_target).sum()
        loss = mlm_sum / n_masked
        return MaskedLMOutput(
            loss=loss, mlm_loss=loss.detach(), logits=logits, mlm_correct=correct, mlm_count=mlm_count
        )

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Save as the plain class: config.json names it, so plain AutoModelForMaskedLM loads the directory."""
        result = super().save_pretrained(save_directory, *args, **kwargs)
        self.config.architectures = [self.plain_class.__name__]
        self.config.save_pretrained(str(save_directory))
        return result


_CLASSES: dict[type, type] = {}


def masked_only_class(plain_class: type) -> type:
    """``MaskedOnly<Plain>``: ``plain_class`` (e.g. RobertaForMaskedLM) with :class:`MaskedOnlyMLM`'s
    forward; the same modules and weights. One class per plain class, importable from this module
    by name (so it pickles)."""
    if plain_class not in _CLASSES:
        name = f"MaskedOnly{plain_class.__name__}"
        cls = type(name, (MaskedOnlyMLM, plain_class), {"plain_class": plain_class, "__module__": __name__})
        _CLASSES[plain_class] = globals()[name] = cls
    return _CLASSES[plain_class]


def masked_only_mlm(source, **kwargs):
    """A masked-only MLM model: ``source`` is a transformers config (new weights) or a saved model
    directory (its weights). ``kwargs`` go to ``from_pretrained``/``_from_config`` (e.g.
    ``attn_implementation``). The family is the config's ``AutoModelForMaskedLM`` class."""
    from transformers import MODEL_FOR_MASKED_LM_MAPPING, AutoConfig, PretrainedConfig

    config = source if isinstance(source, PretrainedConfig) else AutoConfig.from_pretrained(str(source))
    if type(config) not in MODEL_FOR_MASKED_LM_MAPPING:
        raise KmbError(
            f"model type {config.model_type!r} has no AutoModelForMaskedLM class",
            path=None if isinstance(source, PretrainedConfig) else Path(source),
        )
    cls = masked_only_class(MODEL_FOR_MASKED_LM_MAPPING[type(config)])
    if kwargs.get("attn_implementation") == "sdpa" and not cls._supports_sdpa:
        kwargs["attn_implementation"] = "eager"  # DeBERTa-v2, say: the family's own attention
    model = (
        cls._from_config(config, **kwargs)
        if isinstance(source, PretrainedConfig)
        else cls.from_pretrained(str(source), **kwargs)
    )
    # Known head: the masked-only path; its first call fails now, not mid-training.
    model.kmb_known_head = model.mlm_logits(torch.zeros(1, config.hidden_size, dtype=model.dtype)) is not None
    return model
