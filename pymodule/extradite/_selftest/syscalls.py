"""Native syscall numbers the security suite needs, per architecture.

Benign and importable on both sides: the parent checks the numbers a
violation reports, the hostile child uses them to make raw calls.
"""

import platform

_TABLES = {
    "x86_64": {
        "getpid": 39, "socket": 41, "ioctl": 16, "clone3": 435,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "pidfd_open": 434, "pidfd_getfd": 438, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250,
        "add_key": 248, "mount": 165, "unshare": 272, "setns": 308,
        "chroot": 161, "personality": 135, "kexec_load": 246,
        "init_module": 175, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "fchmodat": 268,
    },
    "aarch64": {
        "getpid": 172, "socket": 198, "ioctl": 29, "clone3": 435,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "pidfd_open": 434, "pidfd_getfd": 438, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219,
        "add_key": 217, "mount": 40, "unshare": 97, "setns": 268,
        "chroot": 51, "personality": 92, "kexec_load": 104,
        "init_module": 105, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "fchmodat": 53,
    },
}

MACHINE = platform.machine()
NR = _TABLES.get(MACHINE, {})

# x32 ABI syscalls are the native number with this bit set (x86_64 only).
X32_SYSCALL_BIT = 0x40000000

# Calls that must trap (child dies, parent gets ExtraditeSandboxViolation),
# each with arguments that would be harmless if the filter let it through.
PTRACE_TRACEME = 0
TRAPPED = {
    "ptrace": (PTRACE_TRACEME, 0, 0, 0),
    "process_vm_readv": ("PPID", 0, 0, 0, 0, 0),   # zero iovecs: reads nothing
    "process_vm_writev": ("PPID", 0, 0, 0, 0, 0),  # zero iovecs: writes nothing
    "pidfd_open": ("PPID", 0),
    "pidfd_getfd": (-1, 0, 0),
    "bpf": (0x7FFF, 0, 0),                         # no such command
    "perf_event_open": (0, 0, -1, -1, 0),          # NULL attr
    "userfaultfd": (0,),
    "keyctl": (0, -3, 0),                          # GET_KEYRING_ID of the session keyring
    "add_key": (0, 0, 0, 0, 0),
    "mount": (0, 0, 0, 0, 0),
    "unshare": (0,),                               # no flags: a no-op
    "setns": (-1, 0),
    "chroot": (0,),
    "personality": (0x0040000,),                   # ADDR_NO_RANDOMIZE, own process only
    "kexec_load": (0, 0, 0, 0),
    "init_module": (0, 0, 0),
    "io_uring_setup": (1, 0),                      # NULL params
    "io_uring_enter": (-1, 0, 0, 0, 0, 0),
    "io_uring_register": (-1, 0, 0, 0),
}
