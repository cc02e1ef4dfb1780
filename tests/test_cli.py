"""The resnet-watch command: fast help, config errors and exit codes, doctor, retry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from resnet_watch.cli import main
from tests.daemon_helpers import run_cli


def test_help_does_not_import_torch() -> None:
    """`--help` answers without importing torch (or Pillow, or watchdog)."""
    code = (
        "import sys\n"
        "from resnet_watch.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "for sub in (['run','--help'], ['classify','--help'], ['weights','--help']):\n"
        "    try:\n        main(sub)\n    except SystemExit:\n        pass\n"
        "bad = [m for m in ('torch', 'torchvision', 'PIL', 'watchdog') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_config_error_is_one_line_and_nonzero(tmp_path: Path) -> None:
    """A bad config key gives one line naming the key and exit code 2."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  top_k: lots\n")
    result = run_cli("run", "--config", str(cfg))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "model.top_k" in lines[0]


def test_doctor_reports_failed_files_and_fixes(tmp_path: Path, capsys) -> None:
    """doctor lists failed files with their error and says how to retry."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "x.jpg").write_bytes(b"junk")
    (inbox / "x.jpg.resnet-watch.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "status": "failed",
                "file": {"name": "x.jpg", "size": 4, "mtime_ns": 1, "sha256": None},
                "error": {"kind": "unsupported_format", "message": "not an image"},
                "attempts": 1,
                "gave_up": True,
            }
        )
    )
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"inbox:\n  paths: [{inbox}]\nlog:\n  file: null\n")
    code = main(["doctor", "--config", str(cfg)])
    out = capsys.readouterr().out
    assert "x.jpg: unsupported_format: not an image" in out
    assert "resnet-watch retry" in out
    assert code == 0  # warnings only
    assert main(["retry", "--config", str(cfg)]) == 0
    assert not (inbox / "x.jpg.resnet-watch.json").exists()
    assert (inbox / "x.jpg").read_bytes() == b"junk"


def test_doctor_fails_on_missing_inbox(tmp_path: Path, capsys) -> None:
    """doctor says the inbox is missing and how to create it, with exit code 1."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text("inbox:\n  paths: [./nowhere]\n  create: false\nlog:\n  file: null\n")
    assert main(["doctor", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "nowhere" in out and "mkdir" in out
