"""What one reply from a hostile child may cost the parent (issue 13): a
frame of a few MiB must not hold the parent past call_timeout (colliding
hashes, slow values), nor make it build hundreds of MiB (packed ints,
one arena region named again and again). Each forged reply is refused
with ExtraditeProtocolError naming the limit, the child is killed, and the
parent goes on: a new session works. Legitimate values next to each
hazard still come through."""

import resource
import time

import pytest

import extradite
from xtd_checks import assert_dead, child_pid

TARGET = "extradite._selftest.hostile.budget:ReplyBomber"
MiB = 1 << 20
# Loose: the old decoder took ~6 s on the 30,000-key flood and hours on a
# full frame; a refusal takes milliseconds.
PROMPT = 3.0


def next_request_id(cls):
    return cls.__extradite_session__.requests + 1


def peak_rss():
    """This process's peak resident set (VmHWM), reset first when the
    kernel lets us (/proc/self/clear_refs "5"), in bytes."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # then peak_rss() is the process's lifetime peak: still an upper bound


def refused(cls, method, *args, limit=None):
    """Call the forging method; it must be refused promptly, naming `limit`,
    the child killed; returns the error."""
    bomber = cls()
    pid = child_pid(cls)
    start = time.monotonic()
    with pytest.raises(extradite.ExtraditeProtocolError) as info:
        getattr(bomber, method)(next_request_id(cls), *args)
    elapsed = time.monotonic() - start
    assert elapsed < PROMPT, f"refused only after {elapsed:.1f} s"
    if limit:
        assert "reply budget exceeded" in str(info.value)
        assert limit in str(info.value)
    assert_dead(cls, pid)
    return info.value


def parent_still_works(spawn):
    assert spawn(TARGET)().ping() == "pong"


@pytest.mark.parametrize("kind", ["set", "dict", "mixed"])
def test_hash_flood_refused_before_call_timeout(spawn, kind):
    # 30,000 ints k * (2**61 - 1) + 7, all hashing to 7
    cls = spawn(TARGET, call_timeout=1.0)
    refused(cls, "hash_flood", kind, limit="limits.max_reply_hash_collisions")
    parent_still_works(spawn)


def test_hash_flood_in_a_callbacks_arguments(spawn):
    # what the child asks of us is decoded under the same budget
    cls = spawn(TARGET, call_timeout=1.0)
    refused(cls, "hash_flood_callback", limit="limits.max_reply_hash_collisions")
    parent_still_works(spawn)


def test_packed_ints_refused_before_they_are_built(spawn):
    # 3 packed lists of 4M int16s: 24 MiB on the wire, ~480 MB of int
    # objects; the second list would pass 256 MiB
    cls = spawn(TARGET)
    reset_peak_rss()
    before = peak_rss()
    refused(cls, "amplification", 3, 4_000_000, limit="limits.max_reply_memory")
    grown = peak_rss() - before
    assert grown < 300 * MiB, f"the parent grew by {grown // MiB} MiB"
    parent_still_works(spawn)


def test_arena_region_named_many_times_counts_each_time(spawn):
    # 1,445 bytes naming one 8 MiB arena region 160 times: 1.25 GiB
    cls = spawn(TARGET)
    reset_peak_rss()
    before = peak_rss()
    refused(cls, "arena_refs", 160, limit="limits.max_reply_memory")
    grown = peak_rss() - before
    assert grown < 300 * MiB, f"the parent grew by {grown // MiB} MiB"
    parent_still_works(spawn)


def test_slow_reply_stops_at_the_call_deadline(spawn):
    # 1.5M tz-aware datetimes: little memory each, but seconds to build
    # all; only the deadline stops them (memory cap lifted to show it)
    profile = {"extends": "default", "limits": {"max_reply_memory": "4G"}}
    cls = spawn(TARGET, sandbox=profile, call_timeout=0.5)
    err = refused(cls, "slow_values", 1_500_000)
    assert "reply budget exceeded" in str(err) and "call_timeout 500 ms" in str(err)
    parent_still_works(spawn)


def test_slow_remote_hashes_stop_at_the_call_deadline(spawn):
    # a set of 20 proxies whose hash is a call into the child that takes
    # 0.3 s: building it takes 6 s, well past call_timeout=1
    cls = spawn(TARGET, call_timeout=1.0)
    bomber = cls()
    pid = child_pid(cls)
    start = time.monotonic()
    with pytest.raises(extradite.ExtraditeProtocolError) as info:
        bomber.slow_hash_set(20, 0.3)
    assert time.monotonic() - start < PROMPT
    assert "call_timeout 1000 ms" in str(info.value)
    assert_dead(cls, pid)
    parent_still_works(spawn)


def test_legitimate_values_near_the_hazards(spawn):
    bomber = spawn(TARGET, call_timeout=30.0)()
    pair, merged, mixed, keys = bomber.equal_hash_neighbours()
    assert pair == {-1, -2}
    assert merged == {1: "float"}
    assert mixed == {(1, 2), 2.5, -2}
    # str keys go in as decoded, the others after counting: same order
    assert list(keys.items()) == [("a", 1), (2, 4), ("b", 3), ((1, "x"), 5), (b"c", 6)]
    s, d, lst = bomber.many_ints(200_000)
    assert s == set(range(200_000)) and len(d) == 200_000 and lst[-1] == 199_999


def test_profile_limits_set_the_budget(spawn):
    # lowered: a 200,000-int reply (~30 MB built) is over 8 MiB
    low = {"extends": "default", "limits": {"max_reply_memory": "8M"}}
    cls = spawn(TARGET, sandbox=low)
    bomber = cls()
    pid = child_pid(cls)
    with pytest.raises(extradite.ExtraditeProtocolError) as info:
        bomber.many_ints(200_000)
    assert "8 MiB" in str(info.value) and "limits.max_reply_memory" in str(info.value)
    assert_dead(cls, pid)
    # no collision cap: a small flood (2,000 equal hashes, 2M pairs) is built
    uncapped = {"extends": "default", "limits": {"max_reply_hash_collisions": 0}}
    cls = spawn(TARGET, sandbox=uncapped)
    got = cls().hash_flood(next_request_id(cls), "set", 2000, "linger")
    assert len(got) == 2000 and {hash(x) for x in got} == {7}
    # the default refuses the same reply
    cls = spawn(TARGET)
    refused(cls, "hash_flood", "set", 2000, limit="65536")
