"""The ``weights`` command: which model files are installed, and installing ResNet-18's.

``status`` needs nothing heavy; ``fetch`` and ``import`` build the ONNX model with torch (the
[torch] extra), so they say so and stop when it is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resnet_watch.command_setup import load_command_config

__all__ = ["cmd_weights"]


def cmd_weights(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    from resnet_watch import models

    weights_dir = cfg.model.weights_dir
    if args.weights_cmd == "status":
        for row in models.weights_status(weights_dir):
            acc = (
                f"acc@1 {row.acc1:.3f} / acc@5 {row.acc5:.3f}"
                if row.acc1 is not None and row.acc5 is not None
                else (f"acc@1 ~{row.acc1:g}" if row.acc1 is not None else "accuracy n/a")
            )
            state = "installed" if row.available else "not installed"
            print(f"{row.model}: {state}")
            if row.available:
                print(f"  precision  {row.precision} ({row.runtime})")
                print(f"  file       {row.path}")
                print(f"  source     {row.source}")
                print(f"  sha256     {row.sha256}")
                print(f"  accuracy   {acc} (published, ImageNet-1k val)")
            if row.note:
                print(f"  note       {row.note}")
        return 0
    from resnet_watch.models.runtime import torch_installed

    if not torch_installed():
        print(
            "resnet-watch: `weights fetch` and `weights import` build the ONNX model with torch: "
            "pip install 'resnet-watch[torch]' (the daemon itself never needs it)",
            file=sys.stderr,
        )
        return 2
    if args.weights_cmd == "fetch":
        inst = models.fetch_weights(
            args.name, weights_dir, url=args.url, progress=sys.stderr.isatty()
        )
    else:
        calib = Path(args.calibrate) if args.calibrate else None
        inst = models.import_weights(Path(args.file), weights_dir, calib)
    print(f"installed {inst.model} ({inst.precision}) -> {inst.path}")
    print(f"  sha256 {inst.sha256}, from {inst.source}")
    record = models.weights_status(weights_dir)[0]
    if record.runtime:
        print(f"  served by {record.runtime} from {record.path}")
    print("model auto now selects it; restart the daemon (or systemctl restart resnet-watch)")
    return 0
