"""``resnet-watch install-service --worker``: the worker's systemd unit.

Hardened like the watcher's unit (``unit_render.py``), with two differences that
follow from the watcher writing every sidecar: the photos are only read (no
writable path at all, so the share may be mounted read-only), and the network
is open to the Redis host alone. ``render_worker_unit`` is pure; the installer
only adds reading the config, resolving the Redis host and writing the file.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import re
import socket
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from resnet_watch.service import (
    SYSTEM_UNIT_PATH,
    InstallRefused,
    InstallResult,
    default_executable,
    write_unit,
)
from resnet_watch.unit_render import DEFAULT_CONFIG_PATH, DEFAULT_EXECUTABLE
from resnet_watch.unit_syntax import PYTHON_NAME, check_path, quote, under_home

__all__ = [
    "DEFAULT_WORKER_PHOTOS",
    "WORKER_UNIT_NAME",
    "default_worker_unit",
    "install_worker_service",
    "open_watcher_network",
    "redis_allow_list",
    "render_worker_unit",
]

WORKER_UNIT_NAME = "resnet-watch-worker.service"
DEFAULT_WORKER_PHOTOS = Path("/mnt/photos/inbox")  # the rendered example in systemd/
DEFAULT_REDIS_ADDRESS = "192.168.1.10"
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def load_worker_template() -> str:
    return (resources.files("resnet_watch") / "data" / f"{WORKER_UNIT_NAME}.in").read_text(
        encoding="utf-8"
    )


def default_worker_unit() -> str:
    """The template rendered with the documented example values: systemd/ in the repository."""
    return render_worker_unit(
        load_worker_template(),
        exec_python_or_cmd=DEFAULT_EXECUTABLE,
        config_path=DEFAULT_CONFIG_PATH,
        photo_paths=[DEFAULT_WORKER_PHOTOS],
        redis_allow=[DEFAULT_REDIS_ADDRESS],
    )


def render_worker_unit(
    template: str,
    *,
    exec_python_or_cmd: Path,
    config_path: Path,
    photo_paths: Sequence[Path],
    redis_allow: Sequence[str],
    supplementary_groups: Sequence[str] = (),
) -> str:
    """Fill the worker template; pure. ``redis_allow`` are IPAddressAllow= entries."""
    for path in (exec_python_or_cmd, config_path, *photo_paths):
        check_path(path)
    if not photo_paths:
        raise ValueError("at least one photo folder is needed")
    for entry in redis_allow:
        if entry != "localhost" and entry != "any":
            ipaddress.ip_network(entry, strict=False)  # raises ValueError on anything else
    words = [quote(str(exec_python_or_cmd), exec_line=True)]
    if PYTHON_NAME.fullmatch(exec_python_or_cmd.name):
        words += ["-m", "resnet_watch"]
    words += ["worker", "--config", quote(str(config_path), exec_line=True)]
    access: list[str] = []
    hidden_home = False
    for folder in photo_paths:
        if under_home(folder):
            hidden_home = True
            access.append(f"BindReadOnlyPaths={quote('-' + str(folder), forbid=':')}")
    if under_home(config_path):
        hidden_home = True
        access.append(f"BindReadOnlyPaths={quote(str(config_path.parent), forbid=':')}")
    values = {
        "EXEC_START": " ".join(words),
        "REQUIRES_MOUNTS_FOR": " ".join(quote(str(p)) for p in photo_paths),
        "PROTECT_HOME": "tmpfs" if hidden_home else "yes",
        "PHOTO_ACCESS": "\n".join(access),
        "IP_ALLOW": f"IPAddressAllow={' '.join(redis_allow)}" if redis_allow else "",
        "SUPPLEMENTARY_GROUPS": (
            f"SupplementaryGroups={' '.join(supplementary_groups)}" if supplementary_groups else ""
        ),
    }
    out: list[str] = []
    for line in template.splitlines():
        stripped = line.strip()
        if stripped.startswith("@") and stripped.endswith("@") and stripped[1:-1] in values:
            if values[stripped[1:-1]]:
                out.append(values[stripped[1:-1]])
            continue
        for key, value in values.items():
            line = line.replace(f"@{key}@", value)
        if _PLACEHOLDER.search(line):
            raise ValueError(f"template has an unknown placeholder: {line!r}")
        out.append(line)
    return "\n".join(out) + "\n"


def redis_allow_list(url: str) -> tuple[list[str], list[str]]:
    """IPAddressAllow= entries for the Redis in ``url``, and warnings."""
    if url.startswith("unix://"):
        return [], []  # a local socket: no IP traffic at all
    host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    host = host or "localhost"
    if host == "localhost":
        return ["localhost"], []
    try:
        return [str(ipaddress.ip_address(host))], []
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        return ["any"], [f"cannot resolve the Redis host {host} ({exc}): the unit allows any IP"]
    addresses = sorted({str(info[4][0]) for info in infos})
    note = f"Redis host {host} pinned to {', '.join(addresses)}: run this again if it moves"
    return addresses, [note]


def open_watcher_network(unit_text: str, url: str) -> tuple[str, list[str]]:
    """The watcher's unit, with IP traffic allowed to the Redis of ``queue.url`` only."""
    allow, warnings = redis_allow_list(url)
    if not allow:
        return unit_text, warnings  # a unix socket: AF_UNIX is already allowed
    out: list[str] = []
    for line in unit_text.splitlines():
        key = line.strip()
        if key == "PrivateNetwork=yes":
            out.append("# PrivateNetwork= off: queue.url sends photos' paths to Redis")
        elif key.startswith("IPAddressAllow="):
            out.append(f"{line} {' '.join(allow)}")
            allow = []
        elif key == "IPAddressDeny=any":
            out.append(line)
            out.append(f"IPAddressAllow={' '.join(allow)}")
            allow = []
        elif key.startswith("RestrictAddressFamilies=") and "AF_INET" not in key:
            out.append(f"{line} AF_INET AF_INET6")
        else:
            out.append(line)
    return "\n".join(out) + "\n", warnings


def install_worker_service(
    config_path: Path, dest: Path | None = None, dry_run: bool = False
) -> InstallResult:
    """Render the worker unit for this machine's config and write it (unless ``dry_run``)."""
    config_path = Path(os.path.abspath(config_path.expanduser()))
    if not config_path.is_file():
        raise InstallRefused(f"config file not found: {config_path}")
    from resnet_watch.config import load_config

    cfg = load_config(config_path, environ={}, prepare_inbox=False)
    if not cfg.queue.url:
        raise InstallRefused(f"{config_path} has no queue.url: a worker needs the watcher's Redis")
    executable = Path(os.path.abspath(default_executable()))
    if dest is None and os.geteuid() != 0 and not dry_run:
        raise InstallRefused(f"installing the worker unit needs root (sudo): it goes to {_unit()}")
    if under_home(executable):
        raise InstallRefused(
            f"the worker service cannot run {executable}: ProtectHome= hides home directories; "
            "install resnet-watch outside /home (e.g. python3 -m venv /opt/resnet-watch/.venv)"
        )
    mapped = [Path(str(v)) for v in (cfg.queue.path_map or {}).values()]
    photos = mapped or [Path(os.path.abspath(p)) for p in cfg.inbox.paths]
    allow, warnings = redis_allow_list(cfg.queue.url)
    groups: list[str] = []
    for folder in photos:
        try:
            gid = folder.stat().st_gid
            name = grp.getgrgid(gid).gr_name if gid != 0 else None
        except (OSError, KeyError):
            warnings.append(f"{folder} is not there (yet): mount the photo share there")
            continue
        if name and name not in groups:
            groups.append(name)
    text = render_worker_unit(
        load_worker_template(),
        exec_python_or_cmd=executable,
        config_path=config_path,
        photo_paths=photos,
        redis_allow=allow,
        supplementary_groups=groups,
    )
    unit_path = dest or _unit()
    replaced = write_unit(unit_path, text, dry_run)
    return InstallResult(
        unit_path=unit_path,
        unit_text=text,
        user=False,
        written=not dry_run,
        replaced=replaced,
        commands=(
            "systemctl daemon-reload",
            "systemctl enable --now resnet-watch-worker",
            "journalctl -u resnet-watch-worker -f",
        ),
        warnings=tuple(warnings),
    )


def _unit() -> Path:
    return SYSTEM_UNIT_PATH.parent / WORKER_UNIT_NAME
