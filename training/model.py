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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import BertForPreTraining
from transformers.utils import ModelOutput

from kmb.training.masking import IGNORE_INDEX

SAVED_ARCHITECTURE = "BertForPreTraining"

# Model sizes for training from scratch (`kmb pretrain --config`). "small" is the benchmark's model.
MODEL_CONFIGS: dict[str, dict] = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


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
            return PretrainingOutput(prediction_logits=self.cls.predictions(encoded.last_hidden_state),
                                     seq_relationship_logits=nsp_logits)

        hidden = encoded.last_hidden_state
        if masked_positions is not None:
            # Fixed-size gather from the collator's index list: no data-dependent shapes, so the
            # host never waits for the device here. Padding entries carry ignored labels.
            targets = labels.reshape(-1).index_select(0, masked_positions)
            hidden = hidden.reshape(-1, hidden.shape[-1]).index_select(0, masked_positions)
        else:
            selected = labels != IGNORE_INDEX  # boolean gather: simple, but it synchronises on a GPU
            targets, hidden = labels[selected], hidden[selected]
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
        return PretrainingOutput(loss=loss, mlm_loss=mlm_loss.detach(),
                                 nsp_loss=None if nsp_loss is None else nsp_loss.detach(),
                                 prediction_logits=logits, seq_relationship_logits=nsp_logits,
                                 mlm_correct=correct, mlm_count=mlm_count)
