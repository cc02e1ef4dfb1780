"""imaging.memory: large decodes take one slot at a time, so memory stays bounded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def test_concurrent_large_decodes_peak_near_one_image(tmp_path: Path) -> None:
    """Three concurrent 40 MP PNG decodes raise peak RSS by about one decode, not three."""
    path = tmp_path / "big.png"
    Image.new("RGB", (8000, 5000), (200, 100, 50)).save(path)  # 160 MB once decoded
    code = textwrap.dedent(
        f"""
        import threading
        from pathlib import Path
        from resnet_watch.imaging import ImageLimits, read_image

        def hwm():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

        limits = ImageLimits(10**9, 250_000_000)
        read_image(Path({str(path)!r}), ImageLimits(10**9, 250_000_000), 64)  # warm up
        base = hwm()
        ts = [threading.Thread(target=read_image, args=(Path({str(path)!r}), limits, 256))
              for _ in range(3)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        print(hwm() - base)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    grown = int(out.stdout.strip())
    one_decode = 8000 * 5000 * 4
    # The warm-up already reached one decode's peak: serialised decodes add ~nothing,
    # overlapping ones add one or two more whole images.
    assert grown < one_decode // 2, (grown, one_decode)


def test_memory_is_given_back_after_a_large_decode(tmp_path: Path) -> None:
    """After 40 MP PNG decodes in a decode thread, RSS is back near where it was before."""
    path = tmp_path / "big.png"
    Image.new("RGB", (8000, 5000), (20, 140, 60)).save(path)
    code = textwrap.dedent(
        f"""
        import threading
        from pathlib import Path
        from resnet_watch.imaging import ImageLimits, read_image

        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024

        limits = ImageLimits(10**9, 250_000_000)
        read_image(Path({str(path)!r}), ImageLimits(10**9, 250_000_000), 64).image.size
        before = rss()
        for _ in range(2):  # a worker thread, as the pipeline's decoders (its own malloc arena)
            t = threading.Thread(target=read_image, args=(Path({str(path)!r}), limits, 256))
            t.start()
            t.join()
        print(rss() - before)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    kept = int(out.stdout.strip())
    assert kept < 8000 * 5000 * 4 // 4, kept  # a quarter of one decode's buffer
