#!/usr/bin/env bash
# The GPU check of issue 6, prepared to fit one 10-minute call on a lent H100/H200 (the device tool):
# training step of XLM-R and mBERT base at batch 100 (project defaults, + torch.compile, plain ST fp32 baseline,
# cached loss under a 15 GiB cap) and evaluation encoding; tables land in $OUT.
#
# Prepare here, once per session (the lent machine has torch, transformers and sentence-transformers, not datasets):
#   printf '/.whl/\n/.shared/\n' >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl datasets==5.2.0 dill==0.4.0 multiprocess==0.70.18 sentence-transformers==6.2.0 transformers==5.23.0
#   mkdir -p .shared && cp -r ../shared/data/tokenizers ../shared/data/xquad-r .shared/
# Then call the device tool with carry [".whl", ".shared"] and the command: bash benchmarks/gpu_check.sh
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" HYBRIDLIB_SHARED="$PWD/.shared" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
cd benchmarks
timeout 330 python3 train_step.py --models xlmr,mbert --steps 10 --compile --cap-gib 15 2>"$out/train_step.err" | tee "$out/train_step.md"
timeout 150 python3 encode.py --models xlmr,mbert --n 8192 2>"$out/encode.err" | tee "$out/encode.md"
