#!/usr/bin/env bash
# ARM smoke test: prove the lean install (onnxruntime CPU, numpy, Pillow, ... and NO torch)
# classifies a real photo on aarch64 Linux, by running an aarch64 CPython under
# qemu-user-static on an x86_64 Debian 12 host.
#
# Uses only Debian's apt repositories and PyPI. Nothing arm64 is installed into the host:
# Debian's arm64 python3.11 and its libraries are downloaded and unpacked into a sysroot
# ($ROOT), the wheels go into a --target dir ($SITE). Safe to re-run. Needs root.
#
#   sudo bash scripts/arm_smoke.sh            # prints the classify JSON line and a check line
#   PHOTO=/path/to/cat.jpg bash scripts/arm_smoke.sh
set -euo pipefail

[[ $(id -u) -eq 0 ]] || { echo "arm_smoke: run as root (apt-get)" >&2; exit 1; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${ROOT:-/opt/arm64-root}      # aarch64 sysroot (Debian's python3.11 + libs)
SITE=${SITE:-/opt/arm64-site}      # aarch64 wheels + resnet-watch
WORK=${WORK:-/tmp/arm-smoke}       # debs, wheel, photo, config
PY=python3                         # host Python 3.11 with pip

# 1. qemu, and arm64 package lists (lists only; arm64 packages are never installed).
if ! command -v qemu-aarch64-static >/dev/null; then
    apt-get update -qq && apt-get install -y -qq qemu-user-static
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
fi
apt-get update -qq

# 2. aarch64 CPython 3.11 sysroot: download the .debs and unpack them (dpkg -x).
mkdir -p "$WORK/debs" "$ROOT"
if [[ ! -x $ROOT/usr/bin/python3.11 ]]; then
    (cd "$WORK/debs" && apt-get download -qq \
        python3.11-minimal:arm64 libpython3.11-minimal:arm64 libpython3.11-stdlib:arm64 \
        python3.11:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 zlib1g:arm64 \
        libexpat1:arm64 libffi8:arm64 libssl3:arm64 libbz2-1.0:arm64 liblzma5:arm64 \
        libsqlite3-0:arm64 libuuid1:arm64 libncursesw6:arm64 libtinfo6:arm64 \
        libreadline8:arm64 libdb5.3:arm64 libgomp1:arm64 libnsl2:arm64 libtirpc3:arm64 \
        libcrypt1:arm64)
    for deb in "$WORK"/debs/*_arm64.deb; do dpkg -x "$deb" "$ROOT"; done
fi

# qemu-user 7.2 (bookworm) shows the guest the HOST's x86 /proc/cpuinfo; onnxruntime's
# cpuinfo then finds no ARM cores and segfaults on import. qemu's -L prefix is also searched
# for /proc paths, so give the guest an ARM one matching the emulated CPU (Neoverse-N1).
# Real aarch64 machines need none of this.
mkdir -p "$ROOT/proc"
for i in 0 1; do
    printf 'processor\t: %s\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$i"
done > "$ROOT/proc/cpuinfo"

# neoverse-n1 rather than qemu's default "max" CPU: with SVE enabled the run is ~10x slower.
ARM=(env -i PATH=/usr/bin:/bin HOME="$WORK" LANG=C.UTF-8 PYTHONPATH="$SITE"
     qemu-aarch64-static -cpu neoverse-n1 -L "$ROOT" "$ROOT/usr/bin/python3.11")
"${ARM[@]}" -c 'import platform, sys; print("guest:", platform.machine(), sys.version.split()[0])'

# 3. resnet-watch as a wheel (built from a copy of the tracked files, so the checkout gets no
#    build/ dir; the wheel carries weights/efficientnet_lite0.onnx), installed for aarch64 by
#    the host pip with the dependencies pyproject.toml declares, all as aarch64 wheels.
rm -rf "$SITE" "$WORK/src" "$WORK/whl"
mkdir -p "$WORK/src"
(cd "$REPO" && git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$WORK/src")
$PY -m pip wheel -q --no-deps "$WORK/src" -w "$WORK/whl"
$PY -m pip install -q --root-user-action=ignore --target "$SITE" --only-binary=:all: \
    --python-version 3.11 --implementation cp --platform manylinux_2_28_aarch64 \
    --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 \
    "$WORK"/whl/resnet_watch-*.whl

# 4. A real cat photo (scikit-image's chelsea.png, from the dev venv or its PyPI wheel).
PHOTO=${PHOTO:-$REPO/.venv/lib/python3.11/site-packages/skimage/data/chelsea.png}
if [[ ! -f $PHOTO ]]; then
    $PY -m pip download -q --no-deps --only-binary=:all: scikit-image -d "$WORK/skimage"
    $PY -m zipfile -e "$(ls "$WORK"/skimage/scikit_image-*.whl | head -1)" "$WORK/skimage/x"
    PHOTO=$WORK/skimage/x/skimage/data/chelsea.png
fi
mkdir -p "$WORK/in"
cp "$PHOTO" "$WORK/in/"
printf 'inbox: {paths: [%s/inbox], create: true}\nlog: {file: null}\n' "$WORK" > "$WORK/config.yaml"

# Classify under qemu, then report versions and whether torch was imported / importable.
cat > "$WORK/run.py" <<'EOF'
import importlib.util, platform, sys
from resnet_watch.cli import main
rc = main(["classify", "--config", sys.argv[1], "--json", sys.argv[2]])
import numpy, onnxruntime, PIL
torch_imported = "torch" in sys.modules
torch_installed = importlib.util.find_spec("torch") is not None
print(f"check: machine={platform.machine()} rc={rc} torch_imported={torch_imported}"
      f" torch_installed={torch_installed} onnxruntime={onnxruntime.__version__}"
      f" numpy={numpy.__version__} pillow={PIL.__version__}", flush=True)
sys.exit(rc)
EOF
cd "$WORK"
start=$(date +%s%N)
"${ARM[@]}" "$WORK/run.py" "$WORK/config.yaml" "$WORK/in/$(basename "$PHOTO")" | tee "$WORK/out.txt"
echo "wall: $(( ($(date +%s%N) - start) / 1000000 )) ms (qemu, whole process)"

grep -q '"runtime": "onnxruntime"' "$WORK/out.txt"
grep -Eq '"name": "(tiger cat|Egyptian cat|tabby)"' "$WORK/out.txt"
grep -q 'machine=aarch64 rc=0 torch_imported=False torch_installed=False' "$WORK/out.txt"
echo "arm_smoke: OK"
