"""The build context as clients send it: whole tars, gzipped ones, and the docker CLI's
``build -f -`` tar, which ends right after its last member's data (no padding, no
end-of-archive blocks) and which dockerd accepts."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cove.runtime.build.context import BuildContext


def _tar(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    return out.getvalue()


def _unterminated(files: dict[str, str]) -> bytes:
    """The tar cut right after the last member's data, as the docker CLI sends it."""
    whole = _tar(files)
    last = list(files.values())[-1]
    end = whole.rindex(last.encode()) + len(last)
    return whole[:end]


@pytest.mark.parametrize("encode", [_tar, _unterminated, lambda f: gzip.compress(_tar(f))],
                         ids=["tar", "unterminated", "gzip"])
def test_context_streams_unpack(tmp_path: Path, encode: Callable[[dict[str, str]], bytes]) -> None:
    files = {"Dockerfile": "FROM busybox\n", "a.txt": "a\n",
             ".dockerfile.0123456789abcdef0123": "FROM busybox\nCOPY . /\n"}
    context = BuildContext(io.BytesIO(encode(files)), str(tmp_path))
    try:
        for name, text in files.items():
            assert context.read_text(name) == text
    finally:
        context.close()
