"""COPY, ADD and COPY --from as dockerd's classic builder lays them out: destinations
(``.``, ``./``, the WORKDIR, an existing directory, ``dir/``, a new path) and source globs
(Go's ``filepath.Match``: a wildcard never crosses ``/``). The same Dockerfile is built
with ``DOCKER_BUILDKIT=0 docker build`` on coved and on the reference dockerd, and the
resulting trees must be the same."""

from __future__ import annotations

import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.clis import DOCKER
from tests.support.images import saved_layer_names

CONTEXT = {
    "a.txt": "a\n", "b.txt": "bb\n", "top.txt": "top\n",
    "sub/s.txt": "s\n", "sub/deeper/dd.txt": "dd\n", "sub/n.md": "n\n",
    "dir/x.txt": "x\n", "dir/inner/y.txt": "y\n",
}

SOURCE_STAGE = (
    "FROM busybox AS src\n"
    "RUN mkdir -p /from/d/e && echo f > /from/f.txt && echo g > /from/d/e/g.txt"
    " && echo h > /from/d/h.txt && ln -s f.txt /from/flink\n")


@dataclass
class Builder:
    """``docker build`` on one daemon; the images it tagged are removed at teardown."""

    env: dict[str, str]
    context: Path
    tags: list[str] = field(default_factory=list)

    def docker(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        if DOCKER is None:
            pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
        return subprocess.run([DOCKER, *args], env=self.env, input=input, capture_output=True,
                              text=True, timeout=180)

    def write_context(self) -> None:
        for name, text in CONTEXT.items():
            path = self.context / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def build(self, dockerfile: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        self.write_context()
        (self.context / "Dockerfile").write_text(dockerfile)
        tag = f"build-copy-{uuid.uuid4().hex[:10]}:latest"
        self.tags.append(tag)
        env = {**self.env, "DOCKER_BUILDKIT": "0"}
        result = subprocess.run([DOCKER or "docker", "build", "-t", tag, str(self.context)],
                                env=env, capture_output=True, text=True, timeout=180)
        return tag, result

    def tree(self, tag: str, *roots: str) -> list[str]:
        """Type, mode, owner and (for files) size of everything under ``roots``."""
        listed = self.docker("run", "--rm", tag, "find", *roots, "-exec", "stat", "-c",
                             "%F|%a|%u:%g|%s|%n", "{}", ";")
        assert listed.returncode == 0, listed.stderr
        rows = []
        for line in listed.stdout.splitlines():
            kind, mode, owner, size, name = line.split("|", 4)
            rows.append(f"{name} {kind} {mode} {owner}" +
                        (f" {size}" if kind.startswith("regular") else ""))
        return sorted(rows)


@pytest.fixture
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Builder, Builder]]:
    coved = request.getfixturevalue("coved")
    dockerd = request.getfixturevalue("reference_dockerd")
    ours = Builder(coved.env, tmp_path / "ours")
    theirs = Builder(dockerd, tmp_path / "theirs")
    ours.context.mkdir()
    theirs.context.mkdir()
    try:
        yield ours, theirs
    finally:
        for builder in (ours, theirs):
            if builder.tags:
                builder.docker("rmi", "-f", *builder.tags)


def _layer_names(builder: Builder, tag: str) -> list[list[str]]:
    """The member names of each non-empty layer ``tag`` has beyond busybox's."""
    base = json.loads(builder.docker("image", "inspect", "busybox:latest").stdout)
    saved = subprocess.run([DOCKER or "docker", "save", tag], env=builder.env,
                           capture_output=True, timeout=180)
    assert saved.returncode == 0, saved.stderr
    return saved_layer_names(saved.stdout, skip=len(base[0]["RootFS"]["Layers"]))


def test_workdir_makes_its_directory_in_a_layer_as_dockerd(
        both: tuple[Builder, Builder]) -> None:
    """A new WORKDIR is a layer holding the directory (and its new parents); an existing
    one adds none."""
    dockerfile = ("FROM busybox\n"
                  "WORKDIR /w/deep\n"
                  "WORKDIR /etc\n"
                  "WORKDIR /w/deep\n"
                  "WORKDIR sub\n")
    layers = []
    for builder in both:
        tag, result = builder.build(dockerfile)
        assert result.returncode == 0, result.stdout + result.stderr
        layers.append(_layer_names(builder, tag))
    assert layers[0] == layers[1] == [["w", "w/deep"], ["w", "w/deep", "w/deep/sub"]]


def _same_tree(both: tuple[Builder, Builder], dockerfile: str, *roots: str) -> list[str]:
    ours, theirs = both
    (our_tag, our_build), (their_tag, their_build) = ours.build(dockerfile), \
        theirs.build(dockerfile)
    assert their_build.returncode == 0, their_build.stdout + their_build.stderr
    assert our_build.returncode == 0, our_build.stdout + our_build.stderr
    tree = ours.tree(our_tag, *roots)
    assert "\n".join(tree) == "\n".join(theirs.tree(their_tag, *roots))
    return tree


def test_copy_destinations_match_dockerd(both: tuple[Builder, Builder]) -> None:
    """``.``, ``./``, relative paths under the WORKDIR, an existing directory without a
    slash, ``dir/``, a new path, for COPY, ADD and COPY --from."""
    tree = _same_tree(both, SOURCE_STAGE + (
        "FROM busybox\n"
        "WORKDIR /t/w1\n"
        "COPY a.txt .\n"
        "RUN test -d /t/w1 && test -f /t/w1/a.txt\n"
        "WORKDIR /t/w2\n"
        "COPY a.txt ./\n"
        "WORKDIR /t/w3\n"
        "ADD a.txt .\n"
        "WORKDIR /t/w4\n"
        "COPY --from=src /from/f.txt .\n"
        "WORKDIR /t/w5\n"
        "COPY dir .\n"
        "WORKDIR /t/w6/deep\n"
        "COPY a.txt rel\n"
        "COPY a.txt reldir/\n"
        "COPY b.txt /t/w6\n"
        "RUN mkdir /t/exist\n"
        "COPY a.txt /t/exist\n"
        "COPY a.txt /t/new/\n"
        "COPY a.txt /t/newfile\n"
        "COPY dir /t/dircopy\n"
        "COPY dir/ /t/dircopy2/\n"
        "ADD dir /t/adddir\n"
        "COPY --from=src /from/d /t/fromdir\n"
        "COPY --from=src /from/ /t/fromall/\n"
        "COPY a.txt b.txt /t/multi/\n"
        "WORKDIR /\n"
        "COPY top.txt .\n"), "/t", "/top.txt")
    assert "/t/w1/a.txt regular file 644 0:0 2" in tree
    assert "/t/w5/inner/y.txt regular file 644 0:0 2" in tree
    assert "/t/exist/a.txt regular file 644 0:0 2" in tree
    assert "/t/newfile regular file 644 0:0 2" in tree


@pytest.mark.parametrize("lines", [
    "COPY a.txt b.txt /t/multi",
    "WORKDIR /t/w\nCOPY a.txt b.txt .",
    "ADD a.txt b.txt /t/multi",
    "COPY sub/*.txt *.txt /t/multi",
])
def test_several_sources_need_a_directory_with_a_slash(both: tuple[Builder, Builder],
                                                       lines: str) -> None:
    keyword = lines.splitlines()[-1].split()[0]
    message = (f"When using {keyword} with more than one source file, the destination must "
               "be a directory and end with a /")
    for builder in both:
        _tag, result = builder.build(f"FROM busybox\n{lines}\n")
        assert result.returncode != 0
        assert message in result.stderr, result.stderr


def test_chown_and_archives_at_the_destination_match_dockerd(
        both: tuple[Builder, Builder]) -> None:
    """Parents a COPY --chown makes belong to that owner; directories the image has keep
    theirs; ADD unpacks a local archive into the WORKDIR."""
    for builder in both:
        builder.write_context()
        with tarfile.open(builder.context / "arch.tar", "w") as tar:
            tar.add(builder.context / "dir", arcname="packed")
    _same_tree(both, (
        "FROM busybox\n"
        "RUN mkdir -p /c/kept && chown 5:6 /c/kept && chmod 700 /c/kept\n"
        "COPY --chown=1:2 a.txt /c/new/deep/\n"
        "COPY --chown=3:4 dir /c/dirnew/inner\n"
        "COPY --chown=1:2 b.txt /c/kept/\n"
        "WORKDIR /c/unpacked\n"
        "ADD arch.tar .\n"), "/c")


def test_destinations_through_links_in_the_image_match_dockerd(
        both: tuple[Builder, Builder]) -> None:
    """A link among the destination's directories is followed inside the image (the
    link stays a link); a link to a directory as the destination is copied into."""
    _same_tree(both, (
        "FROM busybox\n"
        "RUN mkdir -p /l/real/in && ln -s /l/real /l/abs && ln -s real /l/rel"
        " && ln -s real/in /l/deep && touch /l/real/file && ln -s file /l/tofile\n"
        "COPY a.txt /l/abs/\n"
        "COPY b.txt /l/rel\n"
        "COPY dir /l/rel/sub/\n"
        "COPY top.txt /l/deep/x/\n"
        "COPY a.txt /l/tofile\n"), "/l")


def test_links_named_as_sources_are_followed_as_dockerd(both: tuple[Builder, Builder]) -> None:
    """A link given (or matched) as a source is copied as what it points to, under its
    own name; a link inside a copied directory stays a link."""
    for builder in both:
        builder.write_context()
        (builder.context / "dirlink").symlink_to("dir")
        (builder.context / "alink").symlink_to("a.txt")
        (builder.context / "dir" / "inlink").symlink_to("x.txt")
    _same_tree(both, SOURCE_STAGE + (
        "FROM busybox\n"
        "COPY --from=src /from/flink /s/five/\n"
        "COPY dirlink /s/one/\n"
        "COPY alink /s/two/\n"
        "COPY alink /s/three\n"
        "COPY *link /s/four/\n"), "/s")


@pytest.mark.parametrize(("line", "message"), [
    ("COPY *.md /m", "COPY failed: no source files were specified"),
    ("COPY --from=busybox /nosuch* /m/", "COPY failed: no source files were specified"),
    ("COPY ./sub/../*.txt /m/", "COPY failed: no source files were specified"),
    ("COPY --from=busybox /bin/*/ /m/", "COPY failed: no source files were specified"),
    ("COPY --from=busybox /nosuch /m/", "COPY failed: stat nosuch: file does not exist"),
    ("COPY dir /bin/sh", "not a directory"),
    ("COPY a.txt /bin/sh/", "not a directory"),
])
def test_copy_errors_match_dockerd(both: tuple[Builder, Builder], line: str,
                                   message: str) -> None:
    for builder in both:
        _tag, result = builder.build(f"FROM busybox\n{line}\n")
        assert result.returncode == 1
        assert message in result.stderr, result.stderr


def test_globs_never_cross_a_slash_as_dockerd(both: tuple[Builder, Builder]) -> None:
    """``*.txt`` names top-level files only, ``sub/*.txt`` direct children only; a
    matched directory has its contents copied; one match may go to a file path."""
    tree = _same_tree(both, SOURCE_STAGE + (
        "FROM busybox\n"
        "COPY *.txt /g/star/\n"
        "COPY sub/*.txt /g/sub/\n"
        "COPY s?b /g/question/\n"
        "COPY [st]*.txt /g/class/\n"
        "COPY [^a-s]*.txt /g/negated/\n"
        "COPY */*.txt /g/nested/\n"
        "COPY di* /g/dirmatch/\n"
        "COPY to?.txt /g/single\n"
        "COPY --from=src /from/*.txt /g/from/\n"
        "COPY --from=src /from/* /g/fromall/\n"
        "COPY --from=src from/d/* /g/fromdir/\n"
        "COPY ./s[a-z]b/[sn]* /g/dotslash/\n"), "/g")
    assert "/g/star/top.txt regular file 644 0:0 4" in tree
    assert not any(line.startswith(("/g/star/s.txt", "/g/star/dd.txt", "/g/sub/dd.txt"))
                   for line in tree)
    assert "/g/single regular file 644 0:0 4" in tree
