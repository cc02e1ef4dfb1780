"""TEST ONLY: run the CLI with the ResNet-18 FIXTURE weights (random) accepted.

The product has no switch for this on purpose: no user path may classify with random
weights. Tests that need the daemon on the ResNet-18 loading path start it through this
module (``python -m tests.fixture_launcher run --config ...``), which wraps
``load_classifier`` with ``allow_fixture=True``. Every sidecar it writes says
``"fixture": true``.
"""

from __future__ import annotations

import functools
import sys

import resnet_watch.models as models
from resnet_watch.cli import main

models.load_classifier = functools.partial(models.load_classifier, allow_fixture=True)

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
