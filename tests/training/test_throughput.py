"""The FLOP count behind the MFU figure, checked by hand on a small case, and the GPU peak table."""

from __future__ import annotations

import numpy as np
import torch
from transformers import BertConfig

from kmb.training.throughput import peak_bf16_tflops, pretraining_flops


def test_flops_of_one_step_by_hand():
    config = BertConfig(vocab_size=100, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]])  # real lengths 3 and 4
    labels = np.array([[-100, 5, -100, -100], [7, -100, -100, 9]])  # 3 targets
    h, L, ffn, V = 8, 2, 32, 100
    per_token = L * (3 * 2 * h * h + 2 * h * h + 2 * 2 * h * ffn)  # QKV, output, two FFN matmuls
    attention = L * 2 * 2 * h * (3 * 3 + 4 * 4)  # scores and weighted sum: 2·n·h each per token
    pooler_nsp = 2 * (2 * h * h + 2 * h * 2)
    head = 3 * (2 * h * h + 2 * h * V)
    expected = 3 * (per_token * 7 + attention + pooler_nsp + head)
    assert pretraining_flops(config, mask, labels) == expected
    assert float(pretraining_flops(config, torch.tensor(mask), torch.tensor(labels))) == expected


def test_peak_table_matches_the_more_specific_name_first():
    assert peak_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert peak_bf16_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_bf16_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_bf16_tflops("NVIDIA L40S") == 362.1 and peak_bf16_tflops("NVIDIA L4") == 121.0
    assert peak_bf16_tflops("Some Future GPU") is None
