"""cgroup managers, v1 and v2 behind one interface, chosen by detection."""
