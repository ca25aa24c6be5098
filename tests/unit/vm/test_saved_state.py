"""What a saved state is valid for, and how it is written (no QEMU needed)."""

from __future__ import annotations

from pathlib import Path

from cove.vm import saved_state
from cove.vm.paths import MachinePaths

ARGV = ["qemu-system-x86_64", "-smp", "2", "-m", "2048M", "-kernel", "/img/a/vmlinuz"]


def _key(**changes: object) -> str:
    values: dict[str, object] = {"argv": ARGV, "qemu_version": "QEMU emulator version 7.2.15",
                                 "image_key": "image-a", "seed": b"seed", "disk_gib": 100}
    values.update(changes)
    return saved_state.key(**values)  # type: ignore[arg-type]


def test_any_change_of_machine_image_qemu_seed_or_disk_makes_another_key() -> None:
    base = _key()
    assert _key() == base
    others = [
        _key(argv=[*ARGV[:2], "4", *ARGV[3:]]),  # CPUs
        _key(argv=[*ARGV[:4], "4096M", *ARGV[5:]]),  # memory
        _key(qemu_version="QEMU emulator version 8.0.0"),
        _key(image_key="image-b"),
        _key(seed=b"other keys"),
        _key(disk_gib=200),
    ]
    assert len({base, *others}) == len(others) + 1


def _paths(tmp_path: Path) -> MachinePaths:
    paths = MachinePaths.of("m", root=tmp_path / "machines", sockets=tmp_path / "s")
    paths.root.mkdir(parents=True)
    return paths


def test_a_committed_state_is_valid_for_its_key_only(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    fd = saved_state.pending_file(paths)
    try:
        import os

        os.write(fd, b"QEVM")
        saved_state.commit(paths, fd, "key-1")
    finally:
        os.close(fd)
    assert saved_state.valid(paths, "key-1")
    assert not saved_state.valid(paths, "key-2")
    assert paths.saved_state.read_bytes() == b"QEVM"
    assert not saved_state.pending_path(paths).exists()


def test_a_state_without_its_key_or_a_key_without_its_state_is_never_valid(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.saved_state.write_bytes(b"QEVM")
    assert not saved_state.valid(paths, "key-1")  # a crash before the key was written
    paths.saved_state_key.write_text("key-1\n")
    paths.saved_state.unlink()
    assert not saved_state.valid(paths, "key-1")


def test_starting_a_new_save_discards_the_old_state_first(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.saved_state.write_bytes(b"old")
    paths.saved_state_key.write_text("key-1\n")
    import os

    os.close(saved_state.pending_file(paths))
    assert not paths.saved_state_key.exists() and not paths.saved_state.exists()
    saved_state.discard(paths)
    assert not saved_state.pending_path(paths).exists()
