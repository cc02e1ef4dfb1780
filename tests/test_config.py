"""config.yaml loading: defaults, validation that names the key, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_watch.config import Config, auto_threads, load_config
from resnet_watch.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_shipped_config_matches_builtin_defaults(tmp_path: Path) -> None:
    """The bundled config.yaml documents exactly the built-in defaults."""
    shipped = load_config(ROOT / "config.yaml", environ={}, prepare_inbox=False)
    builtin = load_config(None, environ={}, prepare_inbox=False)
    assert shipped.model == builtin.model
    assert shipped.pipeline == builtin.pipeline
    assert shipped.limits == builtin.limits
    assert shipped.watch == builtin.watch
    assert shipped.sidecar == builtin.sidecar
    assert shipped.inbox.include == builtin.inbox.include
    assert shipped.inbox.paths == (ROOT / "inbox",)
    assert shipped.tags == builtin.tags
    assert shipped.album_folders.mode == builtin.album_folders.mode
    assert not shipped.album_folders.enabled


def test_shipped_albums_are_the_default_albums() -> None:
    """The albums listed in config.yaml are exactly the built-in default set."""
    from resnet_watch.albums import DEFAULT_ALBUMS
    from resnet_watch.extras import album_rules

    shipped = load_config(ROOT / "config.yaml", environ={}, prepare_inbox=False)
    assert album_rules(shipped) == DEFAULT_ALBUMS
    assert 15 <= len(DEFAULT_ALBUMS) <= 30


def test_bad_album_rule_is_named(tmp_path: Path) -> None:
    """An album naming an unknown WordNet synset fails with the album's name."""
    from resnet_watch.extras import album_rules

    cfg = load_config(
        write(tmp_path, "albums:\n  Doggos: {any_of: [dgo.n.01], min_score: 0.3}\n"),
        environ={},
        prepare_inbox=False,
    )
    with pytest.raises(ConfigError, match=r"albums: album 'Doggos'.*dgo\.n\.01"):
        album_rules(cfg)


def test_album_folders_inside_the_inbox_are_refused(tmp_path: Path) -> None:
    """album_folders.dir inside an inbox would feed links back in: refused by name."""
    text = "inbox:\n  paths: [./in]\nalbum_folders:\n  enabled: true\n  dir: ./in/albums\n"
    with pytest.raises(ConfigError, match=r"album_folders\.dir"):
        load_config(write(tmp_path, text), environ={}, prepare_inbox=False)


def test_every_key_is_documented_with_a_comment() -> None:
    """Each key of the schema appears in the shipped config.yaml under a comment."""
    import dataclasses

    text = (ROOT / "config.yaml").read_text()
    lines = text.splitlines()
    for section in dataclasses.fields(Config):
        if section.name in ("source", "albums", "albums_dir"):
            continue
        for f in dataclasses.fields(
            section.type if isinstance(section.type, type) else getattr(Config(), section.name)
        ):
            idx = next(
                (i for i, ln in enumerate(lines) if ln.strip().startswith(f"{f.name}:")), None
            )
            assert idx is not None, f"{section.name}.{f.name} missing from config.yaml"
            assert lines[idx - 1].strip().startswith("#"), f"{section.name}.{f.name} has no comment"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    """A typo in a key fails with the dotted key name."""
    with pytest.raises(ConfigError, match=r"model\.topk: unknown key"):
        load_config(write(tmp_path, "model:\n  topk: 3\n"), environ={}, prepare_inbox=False)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    """A wrong type fails with the key and what was expected."""
    with pytest.raises(ConfigError, match=r"model\.top_k.*integer"):
        load_config(write(tmp_path, "model:\n  top_k: five\n"), environ={}, prepare_inbox=False)
    with pytest.raises(ConfigError, match=r"watch\.polling.*'auto'"):
        load_config(write(tmp_path, "watch:\n  polling: maybe\n"), environ={}, prepare_inbox=False)
    with pytest.raises(ConfigError, match=r"inbox\.recursive.*true or false"):
        load_config(write(tmp_path, "inbox:\n  recursive: 1\n"), environ={}, prepare_inbox=False)


def test_out_of_range_is_named(tmp_path: Path) -> None:
    """Values outside their range fail with the key."""
    with pytest.raises(ConfigError, match=r"pipeline\.batch_size"):
        load_config(
            write(tmp_path, "pipeline:\n  batch_size: -1\n"), environ={}, prepare_inbox=False
        )


def test_missing_inbox_without_create_is_an_error(tmp_path: Path) -> None:
    """inbox.create false and no folder: a clear error naming inbox.paths."""
    cfg = write(tmp_path, "inbox:\n  paths: [./nope]\n  create: false\n")
    with pytest.raises(ConfigError, match=r"inbox\.paths\[0\].*does not exist"):
        load_config(cfg, environ={})


def test_missing_inbox_is_created_by_default(tmp_path: Path) -> None:
    """The default inbox ./inbox is created next to the config file."""
    cfg = load_config(write(tmp_path, "{}\n"), environ={})
    assert cfg.inbox.paths == (tmp_path / "inbox",)
    assert (tmp_path / "inbox").is_dir()


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    """Paths resolve against the config file's folder, not the working directory."""
    cfg = load_config(
        write(tmp_path, "model:\n  weights_dir: w\nlog:\n  file: l/x.log\n"),
        environ={},
        prepare_inbox=False,
    )
    assert cfg.model.weights_dir == tmp_path / "w"
    assert cfg.log.file == tmp_path / "l/x.log"


def test_env_overrides_win_over_the_file(tmp_path: Path) -> None:
    """RESNET_WATCH_SECTION__KEY overrides the file, typed as YAML."""
    env = {
        "RESNET_WATCH_MODEL__TOP_K": "3",
        "RESNET_WATCH_INBOX__RECURSIVE": "false",
        "RESNET_WATCH_LOG__FILE": "null",
    }
    cfg = load_config(write(tmp_path, "model:\n  top_k: 7\n"), environ=env, prepare_inbox=False)
    assert cfg.model.top_k == 3
    assert cfg.inbox.recursive is False
    assert cfg.log.file is None


def test_env_override_with_unknown_key_is_named(tmp_path: Path) -> None:
    """A misspelt environment override is an error too, not silently ignored."""
    with pytest.raises(ConfigError, match=r"model\.nmae"):
        load_config(None, environ={"RESNET_WATCH_MODEL__NMAE": "x"}, prepare_inbox=False)


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    """Broken YAML names the file and line."""
    with pytest.raises(ConfigError, match=r"config\.yaml: not valid YAML at line \d"):
        load_config(write(tmp_path, "model:\n  top_k: [\n"), environ={}, prepare_inbox=False)


def test_auto_threads_splits_cores() -> None:
    """0 means auto: decode threads per CPU, half the CPUs (at least 1) for torch."""
    decode, torch_n = auto_threads(0, 0)
    assert decode >= 1 and torch_n >= 1 and torch_n <= decode
    assert auto_threads(3, 2) == (3, 2)


@pytest.mark.parametrize("suffix", [".xmp", ".JSON"])
def test_sidecar_suffix_that_photo_apps_own_is_refused(tmp_path: Path, suffix: str) -> None:
    """IMG.jpg.xmp is the XMP sidecar and PhotoPrism parses IMG.jpg.json: refused by name."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"inbox:\n  paths: [{tmp_path}]\nsidecar:\n  suffix: '{suffix}'\n")
    with pytest.raises(ConfigError, match=r"sidecar\.suffix"):
        load_config(cfg)


def test_queue_keys_are_checked_and_named(tmp_path: Path) -> None:
    """A non-Redis queue.url or a relative path_map entry is refused, naming the key."""
    base = f"inbox: {{paths: [{tmp_path / 'inbox'}]}}\n"
    with pytest.raises(ConfigError, match=r"queue\.url: must be redis://"):
        load_config(write(tmp_path, base + "queue: {url: 'amqp://rabbit/'}"))
    with pytest.raises(ConfigError, match=r"queue\.path_map\./srv/inbox"):
        load_config(write(tmp_path, base + "queue: {path_map: {/srv/inbox: mnt/inbox}}"))
    cfg = load_config(
        write(tmp_path, base + "queue: {url: 'unix:///run/redis.sock', max_in_flight: 8}")
    )
    assert cfg.queue.url == "unix:///run/redis.sock" and cfg.queue.max_in_flight == 8
