#!/usr/bin/env bash
# The GPU checks of `kmb pretrain`, in one script (about 5 minutes on one H100):
#   1. BERT-base model FLOPs utilisation at length 128 (bench_pretrain.py --fixed-length), at the
#      paper's batch of 32 and at 256, eager and torch.compile'd, next to plain BertForPreTraining
#   2. the same on length-grouped pairs (the kmb vs plain ratio of the CPU benchmark, on the GPU)
#   3. `kmb pretrain --config base` end to end on a workspace's corpus: bf16, SDPA, fused AdamW,
#      data-loader workers; its summary prints tokens/s and MFU (batch 256, 32, 1024, and 256 again
#      with the allocator's fixed-size segments); the first also profiles 10 steps (GPU busy share,
#      costliest kernels); with compiling allowed, batch 32 with CUDA graphs
#   4. the same command under torchrun (NCCL), one process per GPU
#
#   benchmarks/gpu_check.sh WORKSPACE      # a workspace with a built corpus (kmb corpus build)
#
# The benchmarks use the workspace's first vocab/<name>/ tokenizer when there is one.
# Knobs (environment): PYTHON (python), STEPS (bench timed steps, 20), PRETRAIN_STEPS (150),
# NGPU (GPUs for torchrun; default: all), SKIP_COMPILE=1 to leave out the torch.compile runs,
# SKIP_BENCH=1 to run only the `kmb pretrain` checks (3 and 4), SKIP_AB=1 to leave out 3d and 3e.
# Each step has its own time limit, so one that hangs does not take the rest with it.
set -uo pipefail
WS=${1:?usage: benchmarks/gpu_check.sh WORKSPACE}
PY=${PYTHON:-python}
STEPS=${STEPS:-20}
PRETRAIN_STEPS=${PRETRAIN_STEPS:-150}
NGPU=${NGPU:-$($PY -c "import torch; print(torch.cuda.device_count())")}
HERE=$(cd "$(dirname "$0")" && pwd)
# The benchmark's model gets the workspace's vocabulary size (KR-BERT's class, ~16k) when it has one.
TOK=$(ls -d "$WS"/vocab/*/ 2>/dev/null | head -n 1)
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1

step() { echo; echo "=== $* ($(date +%T))"; }
bench() { timeout "${LIMIT:-150}" "$PY" "$HERE/bench_pretrain.py" --device cuda --model base --no-shards \
            --docs 800 --steps "$STEPS" ${TOK:+--tokenizer "$TOK"} "$@" 2>&1 | grep -v "it/s\]" ; }

step "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"

if [ "${SKIP_BENCH:-0}" != 1 ]; then
step "1a. BERT-base, 128 tokens per pair, batch 256, eager"
bench --fixed-length --batch-size 256
step "1b. BERT-base, 128 tokens per pair, batch 32 (the paper's), eager"
bench --fixed-length --batch-size 32
if [ "${SKIP_COMPILE:-0}" != 1 ]; then
  step "1c. BERT-base, 128 tokens per pair, batch 256, torch.compile"
  LIMIT=240 bench --fixed-length --batch-size 256 --compile
fi
step "1d. BERT-base, 128 tokens per pair, batch 512, eager"
bench --fixed-length --batch-size 512
step "2. BERT-base, length-grouped pairs, batch 32: kmb vs plain"
bench --batch-size 32
fi

COMMON=(--workspace "$WS" --config base --max-steps "$PRETRAIN_STEPS" --lr 1e-4 --warmup 10 --max-eval-pairs 2048
        --save-steps 100000 --logging-steps 20)
step "3a. kmb pretrain --config base --batch-size 256, 10 steps profiled"
timeout 240 "$PY" -m kmb pretrain "${COMMON[@]}" --batch-size 256 --profile-steps 10 --output gpu-b256 2>&1 | grep -vE "it/s\]|s/it\]|^\s*$"
head -n 25 "$WS/pretrain/gpu-b256/profile/top-ops-rank0.txt"
step "3b. kmb pretrain --config base --batch-size 32 (the paper's)"
timeout 240 "$PY" -m kmb pretrain "${COMMON[@]}" --batch-size 32 --output gpu-b32 2>&1 | grep -vE "it/s\]|s/it\]|^\s*$"

if [ "${SKIP_AB:-0}" != 1 ]; then
  step "3d. kmb pretrain --config base --batch-size 1024, a quarter of the steps (slower than 256 when last measured)"
  timeout 240 "$PY" -m kmb pretrain "${COMMON[@]}" --batch-size 1024 --max-steps $((PRETRAIN_STEPS / 4)) \
    --output gpu-b1024 2>&1 | grep -vE "it/s\]|s/it\]|^\s*$"
  step "3e. as 3a with the CUDA allocator's fixed-size segments (A/B of expandable segments)"
  PYTORCH_CUDA_ALLOC_CONF=expandable_segments:False timeout 240 "$PY" -m kmb pretrain "${COMMON[@]}" \
    --batch-size 256 --output gpu-b256-fixed-segments 2>&1 | grep -vE "it/s\]|s/it\]|^\s*$"
fi

if [ "${SKIP_COMPILE:-0}" != 1 ]; then
  step "3f. kmb pretrain --config base --batch-size 32 --compile-mode reduce-overhead (CUDA graphs)"
  timeout 300 "$PY" -m kmb pretrain "${COMMON[@]}" --batch-size 32 --compile-mode reduce-overhead \
    --output gpu-b32-graphs 2>&1 | grep -vE "it/s\]|s/it\]|^\s*$"
fi

step "3c. the saved model loads with plain transformers"
timeout 120 "$PY" -c "
import sys, torch
from transformers import AutoModelForPreTraining, AutoTokenizer
path = sys.argv[1]
model, tok = AutoModelForPreTraining.from_pretrained(path).cuda(), AutoTokenizer.from_pretrained(path)
batch = tok(['환자는 고혈압 약을 복용했다.'], ['이후 혈압이 안정되었다.'], return_tensors='pt').to('cuda')
out = model(**batch)
print(type(model).__name__, next(model.parameters()).dtype, tuple(out.prediction_logits.shape), 'NSP', out.seq_relationship_logits.softmax(-1).tolist())
" "$WS/models/gpu-b256"

step "4. torchrun --nproc-per-node $NGPU -m kmb pretrain (NCCL)"
timeout 240 "$PY" -m torch.distributed.run --nproc-per-node "$NGPU" -m kmb pretrain "${COMMON[@]}" \
  --batch-size 256 --max-steps 30 --output gpu-torchrun 2>&1 | grep -vE "it/s\]|s/it\]|^\s*$"
step "done"
