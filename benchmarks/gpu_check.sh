#!/usr/bin/env bash
# The GPU checks of issue 14, for a machine with CUDA (none was available when this was written): a search of
# 8 trials trained on CUDA (4 per GPU), and the training-throughput benchmark on the GPU vs a bare PyTorch
# loop on the same model. Needs a CUDA build of torch. Writes its figures to ${OUT:-.}/gpu_check.txt.
#
#   bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.}/gpu_check.txt"
py="${PYTHON:-python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
{
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))"
  # 8 trials, 4 at once sharing one GPU (gpus_per_trial 0.25), mixed precision, latency timed on the GPU too
  echo '{"latency": {"device": "cuda"}, "budget": {"amp": true}}' > "${OUT:-.}/gpu_search.json"
  "$py" -m workers search --config "${OUT:-.}/gpu_search.json" --trials 8 --workers 4 --epochs 2 --device cuda \
    --gpus-per-trial 0.25 --sampler random --pruner none --storage "sqlite:///${OUT:-.}/gpu_search.db"
  "$py" benchmarks/train_throughput.py --device cuda --arch efficientnet_b0 --resolution 32 --runs 5 --batch-size 256
  "$py" benchmarks/train_throughput.py --device cuda --arch tiny --resolution 32 --runs 5 --batch-size 256
} 2>&1 | tee "$out"
