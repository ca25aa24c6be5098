"""--privileged: the host's device nodes, copied into a container's /dev by the real kernel."""

from __future__ import annotations

import os
import stat

from cove.runtime.linux import rootfs, syscalls


def test_host_devices_are_copied_with_numbers_and_modes(tmp_path):
    host = tmp_path / "hostdev"
    (host / "net").mkdir(parents=True)
    (host / "pts").mkdir()
    os.mknod(host / "kmsg", stat.S_IFCHR | 0o644, os.makedev(1, 11))
    os.mknod(host / "net" / "tun", stat.S_IFCHR | 0o666, os.makedev(10, 200))
    os.chmod(host / "net" / "tun", 0o666)  # past the umask
    os.mknod(host / "pts" / "0", stat.S_IFCHR | 0o620, os.makedev(136, 0))
    os.symlink("/proc/self/fd", host / "fd")
    dev = tmp_path / "dev"
    dev.mkdir()
    rootfs.copy_host_devices(syscalls.kernel(), str(dev), str(host))
    assert sorted(os.listdir(dev)) == ["kmsg", "net"]
    tun = os.lstat(dev / "net" / "tun")
    assert (tun.st_rdev, stat.S_IMODE(tun.st_mode)) == (os.makedev(10, 200), 0o666)
