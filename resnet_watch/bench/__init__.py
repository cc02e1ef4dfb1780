"""``resnet-watch bench``: the naive tutorial pipeline and resnet-watch's own, side by side.

Why a built-in benchmark: on real 12 MP photos decoding, not the network, is most of the
cost, so only an end-to-end figure measured on the user's own machine, in one run, says
whether the product is fast. Every line runs in this process, on the same corpus and cores:

- baseline: full ``Image.open().convert`` + torchvision Resize/CenterCrop/ToTensor/Normalize
  + fp32 eager ResNet-18 (random weights: speed only), one image at a time;
- decode only: the pipeline's decode stage (``imaging.read_image`` + ``preprocess``);
- resnet-watch: ``pipeline.Pipeline`` (the daemon's worker code, daemon settings) with the
  bundled EfficientNet-Lite0 and with int8 ResNet-18. Without real ResNet-18 weights the
  int8 line runs FIXTURE weights (random; speed only): those classifiers are built here and
  only ever see the benchmark corpus, and no line writes a sidecar, so nothing is tagged.

Nothing heavy is imported at module level: ``resnet-watch --help`` stays torch-free.
"""

from __future__ import annotations

# One job per module: corpus (generate + cache), options (BenchOptions), machine (CPU,
# versions, config, threads), stats (RSS sampling, percentiles, Line), lines (the end-to-end
# lines and their models), parts (stage costs, model only, label agreement), idle (the idle
# daemon), run (run_bench), soak (run_soak), report (render_text, targets), cli (arguments).
from resnet_watch.bench.cli import add_arguments, main, options_from_args
from resnet_watch.bench.cli import run_from_args as run_from_args
from resnet_watch.bench.corpus import CORPUS_VERSION as CORPUS_VERSION
from resnet_watch.bench.corpus import IMAGE_SUFFIXES as IMAGE_SUFFIXES
from resnet_watch.bench.corpus import PHOTO_SIZE as PHOTO_SIZE
from resnet_watch.bench.corpus import SCREENSHOT_SIZES as SCREENSHOT_SIZES
from resnet_watch.bench.corpus import Corpus, default_cache_dir, make_corpus
from resnet_watch.bench.lines import FIXTURE_NOTE as FIXTURE_NOTE
from resnet_watch.bench.lines import RANDOM_NOTE as RANDOM_NOTE
from resnet_watch.bench.machine import INT8_FLAGS as INT8_FLAGS
from resnet_watch.bench.options import BenchOptions
from resnet_watch.bench.options import Progress as Progress
from resnet_watch.bench.report import render_text
from resnet_watch.bench.run import run_bench
from resnet_watch.bench.soak import run_soak
from resnet_watch.bench.stats import Line
from resnet_watch.bench.stats import RssSampler as RssSampler

__all__ = [
    "BenchOptions",
    "Corpus",
    "Line",
    "add_arguments",
    "default_cache_dir",
    "main",
    "make_corpus",
    "options_from_args",
    "render_text",
    "run_bench",
    "run_soak",
]
