"""Observer choice helpers: which filesystem a watched root is on."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.observers import fs_type


def test_fs_type_reads_the_longest_matching_mount() -> None:
    """The mount holding a path is the longest mount point prefix (octal escapes decoded)."""
    mounts = [
        "/dev/sda1 / ext4 rw 0 0",
        "nas:/photos /mnt/my\\040photos nfs4 rw 0 0",
        "//nas/x /mnt/smb cifs rw 0 0",
    ]
    assert fs_type(Path("/mnt/my photos/inbox"), mounts) == "nfs4"
    assert fs_type(Path("/mnt/smb"), mounts) == "cifs"
    assert fs_type(Path("/mnt/smbx"), mounts) == "ext4"
