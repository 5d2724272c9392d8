"""A short tour of extradite: a class used through a proxy, its module
never imported here. Run with `make demo`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from extradite import ExtraditeRemoteError, extradite  # noqa: E402

RemoteCounter = extradite("heavy_counter:Counter")

counter = RemoteCounter(3)
print("counter.increment(2) ->", counter.increment(2))
print("counter.value        ->", counter.value)
counter.value = 40
print("after counter.value = 40, counter.increment() ->", counter.increment())
print(f"the counter lives in pid {counter.where()}; this process is pid {os.getpid()}")

try:
    counter.increment("not a number")
except TypeError as exc:  # remote built-in exceptions keep their type
    assert isinstance(exc, ExtraditeRemoteError)
    print("remote TypeError raised here:", exc.remote_message)

report = RemoteCounter.sandbox_report()
print(
    f"sandbox: profile {report['profile']!r}, seccomp groups {report['seccomp']['groups']}, "
    f"Landlock ABI {report['landlock']['abi']}, namespaces {report['namespaces']['entered']}"
)

print("'heavy_counter' in sys.modules:", "heavy_counter" in sys.modules)
assert "heavy_counter" not in sys.modules

counter.close()  # release the remote instance
RemoteCounter.close()  # stop the child
print("child stopped; done")
