"""BertForPreTraining that projects to the vocabulary only at the masked positions.

The MLM head (dense + LayerNorm + a hidden x vocab projection) is the single most expensive layer
of a small BERT: for hidden 256 and a 16k vocab it costs more than the whole encoder. Only ~15% of
positions carry a label, so we gather those hidden states first and run the head on them alone;
the loss is identical to the full head's (tests/training check it). The module names and weights
are exactly BertForPreTraining's, so a saved directory is a plain BertForPreTraining checkpoint.

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


@dataclass
class PretrainingOutput(ModelOutput):
    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None  # [n_masked, vocab] (or [batch, len, vocab] without labels)
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
        num_items_in_batch: torch.Tensor | None = None,
        **kwargs,
    ) -> PretrainingOutput:
        encoded = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)
        nsp_logits = self.cls.seq_relationship(encoded.pooler_output)
        if labels is None:
            return PretrainingOutput(prediction_logits=self.cls.predictions(encoded.last_hidden_state),
                                     seq_relationship_logits=nsp_logits)

        selected = labels != IGNORE_INDEX
        targets = labels[selected]
        logits = self.cls.predictions(encoded.last_hidden_state[selected])  # gather first, then project
        mlm_sum = F.cross_entropy(logits.float(), targets, reduction="sum")
        if num_items_in_batch is not None and torch.is_tensor(num_items_in_batch) and num_items_in_batch.numel() == 2:
            n_masked, n_pairs = num_items_in_batch[0], num_items_in_batch[1]
        else:
            n_masked, n_pairs = targets.numel(), nsp_logits.shape[0]
        mlm_loss = mlm_sum / n_masked
        loss = mlm_loss
        nsp_loss = None
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(nsp_logits.float(), next_sentence_label.view(-1), reduction="sum") / n_pairs
            loss = loss + nsp_loss
        with torch.no_grad():
            correct = (logits.argmax(-1) == targets).sum()
        return PretrainingOutput(loss=loss, mlm_loss=mlm_loss.detach(),
                                 nsp_loss=None if nsp_loss is None else nsp_loss.detach(),
                                 prediction_logits=logits, seq_relationship_logits=nsp_logits,
                                 mlm_correct=correct, mlm_count=torch.tensor(targets.numel()))
