"""Binds, Mounts and Tmpfs: dockerd's parse rules and texts, and the spec mounts they make."""

from __future__ import annotations

import os

import pytest

from cove.runtime import errors
from cove.runtime.engine import mounts
from cove.runtime.engine.create_config import validate
from cove.runtime.linux import rootfs
from cove.runtime.linux.syscalls import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
)
from tests.support.kernel import Mount, RecordingKernel

NETWORK = [("/c/hosts", "/etc/hosts"), ("/c/hostname", "/etc/hostname"),
           ("/c/resolv.conf", "/etc/resolv.conf")]


def _error(host: dict) -> errors.EngineError:
    with pytest.raises(errors.EngineError) as caught:
        mounts.validate(host)
    return caught.value


def test_a_bind_spec_keeps_its_mode_and_defaults_to_rprivate():
    point = mounts.parse_bind("/srv/data/:/data//x:ro,z")
    assert (point.type, point.source, point.destination) == ("bind", "/srv/data", "/data/x")
    assert (point.rw, point.mode, point.propagation) == (False, "ro,z", "rprivate")
    assert mounts.parse_bind("/a:/b:rslave,rw").propagation == "rslave"


@pytest.mark.parametrize(("raw", "message"), [
    ("/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": "
             "invalid specification: destination can't be '/'"),
    ("/a:rel", "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": "
               "invalid mount path: 'rel' mount path must be absolute"),
    ("/a:/b:bogus", "invalid mode: bogus"),
    ("/a:/b:ro,rw", "invalid mode: ro,rw"),
    ("/a:/b:nocopy", "invalid volume specification: '/a:/b:nocopy': invalid mount config for "
                     "type \"bind\": field VolumeOptions must not be specified"),
    ("/foo:rw", "invalid volume specification: '/foo:rw'"),
    (":/b", "invalid volume specification: ':/b'"),
    ("/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"),
])
def test_bad_binds_get_dockerds_texts(raw, message):
    error = _error({"Binds": [raw]})
    assert isinstance(error, errors.InvalidParameter)
    assert error.message == message


def test_duplicates_are_refused_as_dockerd_does(tmp_path):
    assert _error({"Binds": ["/a:/x", "/b:/x/"]}).message == "Duplicate mount point: /x"
    assert _error({"Binds": ["/a:/x"], "Tmpfs": {"/x": ""}}).message == "Duplicate mount point: /x"
    both = {"Binds": ["/a:/x"], "Mounts": [{"Type": "bind", "Source": str(tmp_path),
                                             "Target": "/x/"}]}
    assert _error(both).message == "Duplicate mount point: /x/"
    # dockerd lets a Mounts tmpfs share a target with a Tmpfs entry
    mounts.validate({"Tmpfs": {"/t": ""}, "Mounts": [{"Type": "tmpfs", "Target": "/t"}]})


@pytest.mark.parametrize(("spec", "message"), [
    ({"Type": "bind", "Source": "/no/such/dir", "Target": "/x"},
     'invalid mount config for type "bind": bind source path does not exist: /no/such/dir'),
    ({"Type": "bind", "Target": "/x"}, 'invalid mount config for type "bind": field Source must '
                                       "not be empty"),
    ({"Type": "bind", "Source": "rel", "Target": "/x"},
     "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"),
    ({"Type": "bind", "Source": "/", "Target": "/x", "BindOptions": {"Propagation": "bogus"}},
     'invalid mount config for type "bind": invalid propagation mode: bogus'),
    ({"Type": "tmpfs", "Source": "/a", "Target": "/x"},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Type": "tmpfs", "Target": "/x", "BindOptions": {}},
     'invalid mount config for type "tmpfs": field BindOptions must not be specified'),
    ({"Type": "bogus", "Target": "/x"}, 'invalid mount config for type "bogus": mount type unknown'),
    ({"Type": "bind", "Source": "/"}, 'invalid mount config for type "bind": field Target must '
                                      "not be empty"),
])
def test_bad_mounts_get_dockerds_texts(spec, message):
    assert _error({"Mounts": [spec]}).message == message


def test_tmpfs_targets_are_checked_at_create():
    assert _error({"Tmpfs": {"t": ""}}).message == "invalid mount path: 't' mount path must be absolute"
    assert _error({"Tmpfs": {"/": ""}}).message == "invalid specification: destination can't be '/'"


def test_create_validation_accepts_binds_and_checks_ports(tmp_path):
    config, host = validate({"Image": "x", "HostConfig": {"Binds": [f"{tmp_path}:/d"]}})
    assert host["Binds"] == [f"{tmp_path}:/d"]
    validate({"Image": "x", "HostConfig": {"PortBindings": {"80/tcp": [{}]}}})
    with pytest.raises(errors.InvalidParameter, match="invalid proto: icmp"):
        validate({"Image": "x", "HostConfig": {"PortBindings": {"80/icmp": [{}]}}})
    with pytest.raises(errors.InvalidParameter, match="HostConfig.Tmpfs"):
        validate({"Image": "x", "HostConfig": {"Tmpfs": ["/t"]}})
    with pytest.raises(errors.InvalidParameter, match="Mounts.ReadOnly"):
        validate({"Image": "x", "HostConfig": {"Mounts": [
            {"Type": "tmpfs", "Target": "/t", "ReadOnly": "yes"}]}})


def test_tmpfs_options_default_to_noexec_nosuid_nodev_and_the_last_word_wins():
    assert mounts.tmpfs_options("") == (MS_NOEXEC | MS_NOSUID | MS_NODEV, "")
    flags, data = mounts.tmpfs_options("size=1m,mode=755,exec,size=2m,ro")
    assert flags == MS_NOSUID | MS_NODEV | MS_RDONLY
    assert data == "mode=755,size=2m"
    with pytest.raises(errors.InvalidParameter) as caught:
        mounts.tmpfs_options("bogus=1")
    assert caught.value.message == 'invalid tmpfs option ["bogus" "1"]'


def test_mounts_api_tmpfs_options_become_mount_data():
    host = {"Mounts": [{"Type": "tmpfs", "Target": "/a", "ReadOnly": True,
                        "TmpfsOptions": {"SizeBytes": 64 << 20, "Mode": 0o1777}},
                       {"Type": "tmpfs", "Target": "/b", "TmpfsOptions": {"SizeBytes": 1000}}]}
    first, second = mounts.spec_mounts(host, [])
    assert first == {"type": "tmpfs", "source": "tmpfs", "destination": "/a",
                     "flags": MS_RDONLY | MS_NOEXEC | MS_NOSUID | MS_NODEV,
                     "data": "mode=1777,size=64m", "readonly": True}
    assert second["data"] == "size=1000"
    with_exec = {"Mounts": [{"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"Options": [["exec"]]}}]}
    assert mounts.spec_mounts(with_exec, [])[0]["flags"] == MS_NOSUID | MS_NODEV
    bad = {"Mounts": [{"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"Options": [["suid"]]}}]}
    assert _error(bad).message == 'invalid mount config for type "tmpfs": invalid option: suid'


def test_spec_mounts_go_parents_first_then_the_network_files(tmp_path):
    host = {"Binds": [f"{tmp_path}/deep:/a/b/c", f"{tmp_path}:/a:ro"],
            "Tmpfs": {"/a/b": "size=1m"}}
    entries = mounts.spec_mounts(host, NETWORK)
    assert [e["destination"] for e in entries] == [
        "/a", "/a/b", "/a/b/c", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]
    assert entries[0] == {"type": "bind", "source": str(tmp_path), "destination": "/a",
                          "readonly": True, "recursive": True, "propagation": "rprivate"}
    assert (tmp_path / "deep").is_dir()  # a missing Binds source is created, as dockerd does


def test_a_user_mount_replaces_the_network_file_it_covers(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("")
    entries = mounts.spec_mounts({"Binds": [f"{hosts}:/etc/hosts"]}, NETWORK)
    assert [(e["source"], e["destination"]) for e in entries] == [
        (str(hosts), "/etc/hosts"), ("/c/hostname", "/etc/hostname"),
        ("/c/resolv.conf", "/etc/resolv.conf")]


def test_a_mounts_bind_whose_source_went_away_fails_the_start(tmp_path):
    gone = tmp_path / "gone"
    host = {"Mounts": [{"Type": "bind", "Source": str(gone), "Target": "/x"}]}
    with pytest.raises(errors.InvalidParameter, match="bind source path does not exist"):
        mounts.spec_mounts(host, [])
    assert not gone.exists()


def test_inspect_lists_binds_and_mounts_but_not_the_tmpfs_map(tmp_path):
    host = {"Binds": [f"{tmp_path}:/d:ro,Z"], "Tmpfs": {"/t": ""},
            "Mounts": [{"Type": "bind", "Source": str(tmp_path), "Target": "/m",
                        "BindOptions": {"Propagation": "rslave"}},
                       {"Type": "tmpfs", "Target": "/mt"}]}
    assert mounts.inspect_mounts(host) == [
        {"Type": "bind", "Source": str(tmp_path), "Destination": "/d", "Mode": "ro,Z",
         "RW": False, "Propagation": "rprivate"},
        {"Type": "bind", "Source": str(tmp_path), "Destination": "/m", "Mode": "",
         "RW": True, "Propagation": "rslave"},
        {"Type": "tmpfs", "Source": "", "Destination": "/mt", "Mode": "", "RW": True,
         "Propagation": ""}]


def test_the_rootfs_applies_spec_binds_read_only_private_and_non_recursive(tmp_path):
    root, source = tmp_path / "root", tmp_path / "src"
    root.mkdir()
    source.mkdir()
    kernel = RecordingKernel()
    rootfs.mount_spec_mounts(kernel, str(root), [
        {"type": "bind", "source": str(source), "destination": "/d", "readonly": True,
         "recursive": False, "propagation": "rprivate"},
        {"type": "tmpfs", "source": "tmpfs", "destination": "/t", "flags": MS_NOEXEC,
         "data": "size=1m", "readonly": False}])
    kept = os.statvfs(root / "d").f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    assert kernel.calls == [
        Mount(str(source), f"{root}/d", None, MS_BIND),
        Mount(None, f"{root}/d", None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept),
        Mount(None, f"{root}/d", None, MS_PRIVATE | MS_REC),
        Mount("tmpfs", f"{root}/t", "tmpfs", MS_NOEXEC, "size=1m")]
    assert (root / "d").is_dir() and (root / "t").is_dir()
