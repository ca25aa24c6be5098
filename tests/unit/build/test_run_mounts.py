"""``RUN --mount`` flags as BuildKit reads them, and the mount-stub cleanup."""

from __future__ import annotations

import os

import pytest

from cove.runtime import errors
from cove.runtime.build.run_mounts import parse_mount, remove_stubs


@pytest.mark.parametrize(("spec", "expected"), [
    ("target=/src", {"kind": "bind", "target": "/src", "readonly": True}),
    ("type=bind,source=app,target=/src,rw", {"source": "app", "readonly": False}),
    ("type=bind,src=app,dst=/src,readwrite=true", {"source": "app", "readonly": False}),
    ("type=bind,from=builder,source=/out,destination=/in",
     {"origin": "builder", "source": "/out", "target": "/in", "readonly": True}),
    ("type=cache,target=/root/.cache", {"kind": "cache", "id": "/root/.cache",
                                         "readonly": False, "sharing": "shared"}),
    ("type=cache,id=pip,target=/c,sharing=locked,mode=0700,uid=1000,gid=1000,ro",
     {"id": "pip", "sharing": "locked", "mode": 0o700, "uid": 1000, "gid": 1000,
      "readonly": True}),
    ("type=cache,target=cache", {"target": "/work/cache"}),  # relative to WORKDIR
    ("type=tmpfs,target=/t,size=64m", {"kind": "tmpfs", "size": 64 << 20}),
    ("type=secret,id=token", {"kind": "secret", "target": "/run/secrets/token",
                              "required": False}),
    ("type=secret,id=token,required", {"required": True}),
    ("type=ssh", {"kind": "ssh", "target": "/run/buildkit/ssh_agent.0"}),
    ("TYPE=Cache,Target=/x", {"kind": "cache", "target": "/x"}),
])
def test_parse(spec: str, expected: dict[str, object]) -> None:
    mount = parse_mount(spec, "/work")
    for key, value in expected.items():
        assert getattr(mount, key) == value, key


@pytest.mark.parametrize(("spec", "message"), [
    ("type=volume,target=/x", "unsupported mount type 'volume'"),
    ("type=cache", "mount destination (target) is required"),
    ("type=cache,target=/x,sharing=sometimes", "unsupported sharing value 'sometimes'"),
    ("type=cache,target=/x,colour=blue", "unexpected key 'colour' in 'colour=blue'"),
    ("type=cache,target=/x,mode=rwx", "invalid value for mode: rwx"),
    ("type=bind,target=/x,ro=maybe", "invalid value for readonly: maybe"),
    ("type=tmpfs,target=/x,size=12q", "invalid size: 12q"),
    ("type=bind,target=/", "cannot mount over /"),
])
def test_bad_flags_are_refused(spec: str, message: str) -> None:
    with pytest.raises(errors.InvalidParameter) as caught:
        parse_mount(spec, "/")
    assert caught.value.message == f"failed to parse RUN --mount={spec}: {message}"


def test_remove_stubs_takes_only_the_empty_mount_points_run_made(tmp_path) -> None:
    upper = str(tmp_path)
    os.makedirs(upper + "/root/.cache/pip")        # stub, and its new parent
    os.makedirs(upper + "/usr/src/app")             # stub under a directory the image has
    os.makedirs(upper + "/data/mnt")                # stub whose parent got a file from RUN
    (tmp_path / "data" / "made-by-run").write_text("x")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "secret").write_text("")   # an empty file stub for a file mount
    image_has = {"/root", "/usr", "/usr/src", "/etc"}
    remove_stubs(upper, ["/root/.cache/pip", "/usr/src/app", "/data/mnt", "/etc/secret"],
                 lambda path: path in image_has)
    left = sorted(os.path.relpath(os.path.join(d, n), upper)
                  for d, dirs, files in os.walk(upper) for n in dirs + files)
    assert left == ["data", "data/made-by-run", "etc", "root", "usr", "usr/src"]
