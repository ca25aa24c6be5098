"""Which rules a container gets of a seccomp profile (runtime/linux/seccomp_profile.py),
as dockerd selects them: by capability, architecture and kernel version."""

from __future__ import annotations

import json

import pytest

from cove.runtime.linux import caps
from cove.runtime.linux.seccomp_profile import (
    Condition,
    ProfileError,
    default_profile,
    parse_profile,
    select,
)

DEFAULT_CAPS = frozenset("CAP_" + name for name in caps.DEFAULT_CAPABILITIES)
KERNEL = "6.1.0-13-amd64"
NAMESPACE_FLAGS = 0x7E020000


def _allowed(spec, name):
    """The rules that allow ``name``: their conditions (() for unconditional)."""
    return [rule.conditions for rule in spec.rules
            if name in rule.names and rule.action == "SCMP_ACT_ALLOW"]


def _default(capabilities=DEFAULT_CAPS, machine="x86_64", kernel=KERNEL):
    return select(default_profile(), capabilities, machine, kernel)


def test_the_default_refuses_with_eperm_what_it_does_not_list():
    spec = _default()
    assert (spec.default_action, spec.default_errno) == ("SCMP_ACT_ERRNO", 1)
    for name in ("keyctl", "add_key", "request_key", "bpf", "perf_event_open", "unshare",
                 "mount", "setns", "reboot", "init_module", "kexec_load", "io_uring_setup"):
        assert _allowed(spec, name) == [], name
    for name in ("read", "execve", "openat", "mkdir", "capset", "setresuid"):
        assert _allowed(spec, name) == [()], name


def test_without_cap_sys_admin_clone_is_allowed_only_without_namespace_flags():
    spec = _default()
    assert _allowed(spec, "clone") == [(Condition(0, "SCMP_CMP_MASKED_EQ", NAMESPACE_FLAGS),)]
    clone3 = [rule for rule in spec.rules if "clone3" in rule.names]
    assert [(r.action, r.errno) for r in clone3] == [("SCMP_ACT_ERRNO", 38)]  # ENOSYS


def test_cap_sys_admin_opens_namespaces_mounts_and_a_plain_clone():
    spec = _default(DEFAULT_CAPS | {"CAP_SYS_ADMIN"})
    for name in ("unshare", "setns", "mount", "umount2", "clone3", "bpf", "perf_event_open"):
        assert _allowed(spec, name) == [()], name
    assert _allowed(spec, "clone") == [()]
    assert not [rule for rule in spec.rules if rule.action == "SCMP_ACT_ERRNO"]


@pytest.mark.parametrize(("cap", "names"), [
    ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]),
    ("CAP_SYS_TIME", ["settimeofday", "clock_settime"]),
    ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]),
    ("CAP_BPF", ["bpf"]),
    ("CAP_PERFMON", ["perf_event_open"]),
    ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
])
def test_each_capability_allows_its_own_syscalls(cap, names):
    without, with_cap = _default(), _default(DEFAULT_CAPS | {cap})
    for name in names:
        assert _allowed(without, name) == [] and _allowed(with_cap, name) == [()], name


def test_socket_refuses_af_alg_and_af_vsock_and_personality_takes_listed_values():
    spec = _default()
    assert set(_allowed(spec, "socket")) == {
        (Condition(0, "SCMP_CMP_LT", 38),), (Condition(0, "SCMP_CMP_EQ", 39),),
        (Condition(0, "SCMP_CMP_GT", 40),)}
    values = {c.value for conditions in _allowed(spec, "personality") for c in conditions}
    assert values == {0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF}


def test_x86_64_gets_its_32_bit_abis_and_aarch64_its_arm_one():
    x86 = _default()
    assert x86.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert _allowed(x86, "arch_prctl") == [()] and _allowed(x86, "modify_ldt") == [()]
    assert _allowed(x86, "cacheflush") == []
    arm = _default(machine="aarch64")
    assert arm.architectures == ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
    assert _allowed(arm, "cacheflush") == [()] and _allowed(arm, "arch_prctl") == []
    assert arm.key != x86.key


def test_ptrace_needs_kernel_4_8_without_cap_sys_ptrace():
    assert _allowed(_default(kernel="4.4.0"), "ptrace") == []
    assert _allowed(_default(kernel="4.8.0"), "ptrace") == [()]


def test_equal_filters_share_a_key_and_different_ones_do_not():
    assert _default().key != _default(DEFAULT_CAPS | {"CAP_SYS_ADMIN"}).key
    # no rule of the default profile depends on CAP_CHOWN: the same filter, the same BPF
    assert _default().key == _default(DEFAULT_CAPS - {"CAP_CHOWN"}).key


def test_a_custom_profile_with_name_and_arguments_on_one_index():
    profile = parse_profile(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                     {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                               {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}))
    spec = select(profile, DEFAULT_CAPS, "x86_64", KERNEL)
    assert spec.architectures == ("SCMP_ARCH_X86_64",)
    assert [(r.names, r.errno, len(r.conditions)) for r in spec.rules] == [
        (("mkdir",), 13, 0), (("personality",), 1, 2)]


@pytest.mark.parametrize(("profile", "message"), [
    ("{bad", "Decoding seccomp profile failed: "),
    ("[]", "Decoding seccomp profile failed: json: cannot unmarshal array into Go value"),
    ('{"syscalls": {}}', "cannot unmarshal object into Go struct field Seccomp.syscalls"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": '
     '"SCMP_ACT_ERRNO", "args": [{"index": "0"}]}]}',
     "cannot unmarshal string into Go struct field LinuxSeccompArg.index of type uint"),
])
def test_malformed_profiles_are_refused_as_dockerd_decodes_them(profile, message):
    with pytest.raises(ProfileError, match=message.replace("[", r"\[")):
        parse_profile(profile)


@pytest.mark.parametrize(("profile", "message"), [
    ({"defaultAction": "SCMP_ACT_BOGUS"}, "string SCMP_ACT_BOGUS is not a valid action"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]},
     "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]},
     "'architectures' and 'archMap' were specified in the seccomp profile"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]},
     "string SCMP_ARCH_Z80 is not a valid arch for seccomp"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action":
      "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]},
     "string SCMP_CMP_LIKE is not a valid operator for seccomp"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action":
      "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "syscall argument index 6 out of range"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "not supported by this engine"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]},
     "not supported by this engine"),
])
def test_profiles_runc_would_refuse_are_refused(profile, message):
    with pytest.raises(ProfileError, match=message.replace("(", r"\(")):
        select(parse_profile(json.dumps(profile)), DEFAULT_CAPS, "x86_64", KERNEL)
