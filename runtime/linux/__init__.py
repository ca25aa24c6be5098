"""The only layer that talks to the kernel: namespaces, mounts, rootfs, capabilities, cgroups."""
