"""Process escapes: fork, exec, spawn, signalling and tracing others."""

import os
import subprocess

from ._common import Base, named_syscall

PTRACE_SEIZE = 0x4206  # attaches without stopping the tracee


class ProcessAttacker(Base):
    def fork(self):
        pid = os.fork()
        if pid == 0:
            os._exit(0)  # a fork that got through must not run anything else
        os.waitpid(pid, 0)
        return pid

    def execv(self):
        os.execv("/bin/true", ["true"])

    def run(self):
        return subprocess.run(["/bin/true"], check=False).returncode

    def posix_spawn(self):
        pid = os.posix_spawn("/bin/true", ["true"], {})
        os.waitpid(pid, 0)
        return pid

    def kill(self, pid, sig):
        os.kill(pid, sig)
        return True

    def kill_parent(self, sig):
        os.kill(os.getppid(), sig)
        return True

    def seize_parent(self):
        return named_syscall("ptrace", PTRACE_SEIZE, "PPID", 0, 0)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read(4096)

    def listdir(self, path):
        return os.listdir(path)
