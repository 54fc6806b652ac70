#!/bin/bash
# Model inference throughput: windows scored per second on one core by
# ae_score_batch (bias, activations and error included) for the default
# model, at batch sizes 1, 64 and 1024, beside the bare cblas_sgemm chain on
# the same shapes. Builds bin/ae-bench (and the model if missing) first.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory -s bin/ae-bench bin/ae-train >/dev/null
[ -f models/lpms-linacc.aem ] || make --no-print-directory -s models >/dev/null 2>&1
echo "\$ OPENBLAS_NUM_THREADS=1 bin/ae-bench --model models/lpms-linacc.aem --batch 1,64,1024"
OPENBLAS_NUM_THREADS=1 bin/ae-bench --model models/lpms-linacc.aem --batch 1,64,1024
