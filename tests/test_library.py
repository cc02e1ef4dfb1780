"""albums / tags / reindex: the library as its sidecars describe it, no model needed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from resnet_watch.cli import main
from resnet_watch.models.spec import Label
from resnet_watch.sidecar import FileFacts, read_sidecar, result_record, write_sidecar
from tests.daemon_helpers import run_cli
from tests.fakes import FAKE_INFO

GOLDEN = Label(1, 207, "n02099601", "golden retriever", 0.8)
ALP = Label(1, 970, "n09193705", "alp", 0.9)


def tagged(folder: Path, name: str, label: Label) -> Path:
    image = folder / name
    Image.new("RGB", (8, 8), "gray").save(image)
    st = image.stat()
    record = result_record(
        FileFacts(name, st.st_size, st.st_mtime_ns, None),
        width=8,
        height=8,
        fmt="JPEG",
        labels=[label],
        model=FAKE_INFO,
        elapsed_ms=1,
    )
    write_sidecar(image.with_name(name + ".resnet-watch.json"), record)
    return image


def config(tmp_path: Path, extra: str = "") -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"inbox:\n  paths: [{inbox}]\nlog:\n  file: null\n{extra}")
    return cfg


def test_reindex_adds_tags_albums_and_xmp_without_the_model(tmp_path: Path, capsys) -> None:
    """reindex fills tags/albums and writes XMP from stored labels."""
    cfg = config(tmp_path)
    dog = tagged(tmp_path / "inbox", "dog.jpg", GOLDEN)
    assert main(["reindex", "--config", str(cfg)]) == 0
    record = read_sidecar(dog.with_name("dog.jpg.resnet-watch.json"))
    assert record is not None and record["albums"] == ["Dogs"]
    assert record["tags"] == ["Pets/Dogs/golden retriever"]
    xmp = dog.with_name("dog.jpg.xmp").read_text()
    assert "resnet-watch|Pets|Dogs|golden retriever" in xmp
    from resnet_watch.xmp import read_keywords

    flat = read_keywords(dog).leaves  # dc:subject: the label and the album name
    assert "golden retriever" in flat and "Dogs" in flat
    assert "reindexed: 1" in capsys.readouterr().out


def test_rule_change_then_reindex_moves_images(tmp_path: Path) -> None:
    """After changing album rules, reindex re-files images and album folders follow."""
    extra = "album_folders:\n  enabled: true\n  dir: ./albums\n"
    cfg = config(tmp_path, extra)
    alp = tagged(tmp_path / "inbox", "alp.jpg", ALP)
    assert main(["reindex", "--config", str(cfg)]) == 0
    assert (tmp_path / "albums" / "Mountains").is_dir()
    links = list((tmp_path / "albums" / "Mountains").iterdir())
    assert len(links) == 1 and links[0].resolve() == alp.resolve()
    cfg.write_text(
        cfg.read_text() + "albums:\n  Peaks: {group: Nature, any_of: [alp.n.01], min_score: 0.5}\n"
    )
    assert main(["reindex", "--config", str(cfg)]) == 0
    record = read_sidecar(alp.with_name("alp.jpg.resnet-watch.json"))
    assert record is not None and record["albums"] == ["Peaks"]
    assert not (tmp_path / "albums" / "Mountains").exists()  # emptied: removed
    assert [p.resolve() for p in (tmp_path / "albums" / "Peaks").iterdir()] == [alp.resolve()]


def test_albums_lists_counts_and_tags_shows_one_image(tmp_path: Path, capsys) -> None:
    """albums counts images per album; tags shows labels, albums and the WordNet chain."""
    cfg = config(tmp_path)
    dog = tagged(tmp_path / "inbox", "dog.jpg", GOLDEN)
    tagged(tmp_path / "inbox", "dog2.jpg", GOLDEN)
    main(["reindex", "--config", str(cfg)])
    capsys.readouterr()
    assert main(["albums", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    dogs = next(line for line in out.splitlines() if line.startswith("Pets/Dogs"))
    assert dogs.split()[-1] == "2"
    assert main(["tags", "--config", str(cfg), str(dog)]) == 0
    out = capsys.readouterr().out
    assert "golden retriever" in out and "albums: Dogs" in out
    assert "dog.n.01" in out and "mammal.n.01" in out


def plant(sidecar: Path, name: str, label: Label = GOLDEN) -> None:
    """A crafted sidecar (a Syncthing peer, a phone) whose record names ``name``."""
    record = result_record(
        FileFacts(name, 1, 1, None),
        width=8,
        height=8,
        fmt="JPEG",
        labels=[label],
        model=FAKE_INFO,
        elapsed_ms=1,
    )
    write_sidecar(sidecar, record)


def test_reindex_ignores_sidecars_that_name_another_file(tmp_path: Path, capsys) -> None:
    """`../../../etc/passwd` or `..` in file.name: ignored and logged; no link, no stray XMP."""
    extra = "album_folders:\n  enabled: true\n  dir: ./albums\n"
    cfg = config(tmp_path, extra)
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir()
    dog = tagged(inbox, "dog.jpg", GOLDEN)
    plant(inbox / "evil.jpg.resnet-watch.json", "../../../etc/passwd")
    plant(inbox / "sub" / "x.resnet-watch.json", "..")
    plant(inbox / "other.jpg.resnet-watch.json", "dog.jpg")  # names a sibling, not itself
    done = run_cli("reindex", "--config", str(cfg))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("sidecar_ignored") == 3
    assert "reindexed: 1" in done.stdout
    links = [p for p in (tmp_path / "albums").rglob("*") if p.is_symlink()]
    assert [p.resolve() for p in links] == [dog.resolve()]
    xmps = sorted(p.relative_to(inbox) for p in inbox.rglob("*.xmp"))
    assert xmps == [Path("dog.jpg.xmp")]


def test_long_names_still_find_their_image(tmp_path: Path) -> None:
    """A name too long for `<name><suffix>` (hashed sidecar name) is still trusted."""
    from resnet_watch.library import image_for_sidecar
    from resnet_watch.sidecar import sidecar_path

    image = tmp_path / ("x" * 250 + ".jpg")
    side = sidecar_path(image, ".resnet-watch.json")
    assert side.name != image.name + ".resnet-watch.json"
    record = {"file": {"name": image.name}}
    assert image_for_sidecar(side, record, ".resnet-watch.json") == image
    assert image_for_sidecar(side, {"file": {"name": "y.jpg"}}, ".resnet-watch.json") is None


def test_reindex_keeps_the_daemons_index_in_step(tmp_path: Path, capsys) -> None:
    """reindex updates the index too: `albums` reads the new albums from it at once."""
    from resnet_watch.config import load_config
    from resnet_watch.index import open_index

    cfg = config(tmp_path)
    tagged(tmp_path / "inbox", "alp.jpg", ALP)
    loaded = load_config(cfg, prepare_inbox=False)
    index, _ = open_index(loaded.library.index, loaded.inbox.paths, loaded.sidecar.suffix)
    index.close()  # as a stopped daemon leaves it: the sidecar has no albums yet
    assert main(["reindex", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["albums", "--config", str(cfg)]) == 0
    mountains = next(line for line in capsys.readouterr().out.splitlines() if "Mountains" in line)
    assert mountains.split()[-1] == "1"
