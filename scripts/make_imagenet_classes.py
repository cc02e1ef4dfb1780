"""Regenerate resnet_watch/models/imagenet_classes.tsv (index, wnid, name) offline.

Why: the product labels photos with WordNet ids and readable names, and both models use the
standard ILSVRC-2012 class order, which is the sorted list of the 1000 wnids. The names come
from torchvision's weights metadata (installed with torchvision); the wnids come from timm's
``timm/data/_info/imagenet_synsets.txt``, read out of a timm wheel you already have on disk
(``pip download timm --no-deps -d /tmp/timm`` once, on a machine with registry access).

    python scripts/make_imagenet_classes.py /tmp/timm/timm-*.whl
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "resnet_watch" / "models" / "imagenet_classes.tsv"
SYNSETS = "timm/data/_info/imagenet_synsets.txt"


def main(argv: list[str] | None = None) -> int:
    """Write the tsv; refuse if the two sources disagree on the class count or order."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timm_wheel", type=Path, help="a timm wheel file (read, not installed)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    with zipfile.ZipFile(args.timm_wheel) as wheel:
        wnids = wheel.read(SYNSETS).decode("ascii").split()
    if len(wnids) != 1000 or wnids != sorted(wnids) or len(set(wnids)) != 1000:
        print("imagenet_synsets.txt is not the sorted 1000 ILSVRC wnids", file=sys.stderr)
        return 1

    from torchvision.models import ResNet18_Weights

    names: list[str] = list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
    if len(names) != 1000:
        print("torchvision categories are not 1000 names", file=sys.stderr)
        return 1

    lines = ["index\twnid\tname"]
    lines += [
        f"{i}\t{wnid}\t{name}" for i, (wnid, name) in enumerate(zip(wnids, names, strict=True))
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(wnids)} classes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
