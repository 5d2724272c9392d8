"""extradite benchmark: the same workloads run directly, through
multiprocessing.managers, through RPyC (when installed) and through
extradite, all in one run, printed as one table with ratios.

    python bench/run.py [--quick] [--repetitions N] [--cases a,b]
                        [--json-output FILE]

Numbers are microseconds per operation, the median over repetitions.
Compare ratios within one run, never absolute numbers across machines.
Cold-start cases compare with a bare interpreter (`python -I -S -c pass`)
instead of a direct in-process run.
"""

import argparse
import importlib.util
import json
import multiprocessing
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from multiprocessing.managers import BaseManager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workload  # noqa: E402

# The target (isolated_workload.py) imports its neighbour workload.py: from
# a folder that is not site-packages only the target's own module is
# granted (docs/containment.md, "File grants"), so the child runs under
# `default` plus that one file, unless $EXTRADITE_SANDBOX says otherwise.
if not os.environ.get("EXTRADITE_SANDBOX"):
    import atexit  # noqa: E402
    import tempfile  # noqa: E402

    from extradite import _sandbox  # noqa: E402

    _read = [*_sandbox._resolve("default")[2]["landlock"]["read"], workload.__file__]
    with tempfile.NamedTemporaryFile("w", suffix=".toml", prefix="xtd-bench-",
                                     delete=False) as _f:
        _f.write('extends = "default"\n[landlock]\nread = [%s]\n'
                 % ", ".join('"%s"' % r for r in _read))
    atexit.register(os.unlink, _f.name)
    os.environ["EXTRADITE_SANDBOX"] = _f.name

from extradite import (  # noqa: E402
    close_extradite_session,
    extradite,
    prewarm_extradite_session,
)

WORKLOAD_CLASSES = ("Pinger", "Caller", "LineEditor", "Hasher", "Pipeline")


class Skip(Exception):
    """A peer cannot run a case; the message says why."""


def per_op_us(fn, ops):
    start = time.perf_counter()
    fn(ops)
    return (time.perf_counter() - start) / ops * 1e6


# ---- peers: each makes an instance of a workload class and a closer ------


def direct_peer(cls_name):
    return getattr(workload, cls_name)(), lambda: None


class _Manager(BaseManager):
    pass


for _name in WORKLOAD_CLASSES:
    _Manager.register(_name, getattr(workload, _name))


def managers_peer(cls_name):
    manager = _Manager()
    manager.start()
    try:
        obj = getattr(manager, cls_name)()
    except BaseException:
        manager.shutdown()
        raise
    return obj, manager.shutdown


def _rpyc_server(conn):
    import rpyc
    from rpyc.utils.server import ThreadedServer

    class Service(rpyc.Service):
        def exposed_make(self, cls_name):
            return getattr(workload, cls_name)()

        def exposed_call_by_value(self, obj, name, blob):
            args, kwargs = pickle.loads(blob)
            return pickle.dumps(getattr(obj, name)(*args, **kwargs))

    server = ThreadedServer(
        Service, hostname="127.0.0.1", port=0,
        protocol_config={"allow_public_attrs": True},
    )
    conn.send(server.port)
    server.start()


class _RpycObject:
    """An RPyC netref, except that calls whose arguments RPyC would pass by
    reference (lists, dicts...) go by value, pickled, like the other peers.
    Callables stay netrefs: RPyC's callbacks."""

    def __init__(self, conn, remote):
        from rpyc.core import brine

        self._conn = conn
        self._remote = remote
        self._dumpable = brine.dumpable

    def __getattr__(self, name):
        method = getattr(self._remote, name)
        dumpable = self._dumpable
        by_value = self._conn.root.call_by_value
        remote = self._remote

        def call(*args, **kwargs):
            if all(dumpable(a) or callable(a) for a in (*args, *kwargs.values())):
                return method(*args, **kwargs)
            blob = pickle.dumps((args, kwargs))
            return pickle.loads(by_value(remote, name, blob))

        return call


def rpyc_peer(cls_name):
    try:
        import rpyc
    except ImportError:
        raise Skip("rpyc is not installed") from None
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_rpyc_server, args=(child,), daemon=True)
    proc.start()
    conn = None
    try:
        port = parent.recv()
        # The server listens only once start() runs: retry briefly.
        for attempt in range(100):
            try:
                conn = rpyc.connect("127.0.0.1", port)
                break
            except ConnectionRefusedError:
                if attempt == 99:
                    raise
                time.sleep(0.05)
        obj = _RpycObject(conn, conn.root.make(cls_name))
    except BaseException:
        if conn is not None:
            conn.close()
        proc.terminate()
        proc.join()
        raise

    def close():
        conn.close()
        proc.terminate()
        proc.join()

    return obj, close


def extradite_peer(cls_name, share_key=None):
    cls = extradite("isolated_workload:" + cls_name, share_key)
    try:
        obj = cls()
    except BaseException:
        cls.close()
        raise

    def close():
        obj.close()
        cls.close()

    return obj, close


PEERS = {
    "direct": direct_peer,
    "managers": managers_peer,
    "rpyc": rpyc_peer,
    "extradite": extradite_peer,
}

# ---- steady-state cases: fn(obj, ops) makes `ops` operations --------------

SMALL_STRUCT = {
    "id": 42,
    "name": "widget",
    "tags": ["a", "b", "c"],
    "dims": [1.5, 2.25, 3.0],
    "meta": {"owner": "bench", "active": True, "parent": None},
}
LARGE_LIST = list(range(100_000))
BLOB_512K = os.urandom(512 * 1024)
BLOB_1M = os.urandom(1024 * 1024)
BATCH = 100
RECORDS = [{"id": i, "value": i * 3, "ok": i % 4 != 0} for i in range(20)]
BLOB_4K = os.urandom(4096)
CHATTER_BATCH = 100


def tiny_call(obj, ops):
    ping = obj.ping
    for _ in range(ops):
        ping()


def small_mutation(obj, ops):
    bump = obj.bump
    for _ in range(ops):
        bump(1)


def echo_of(value):
    """A case that echoes `value` once per operation."""

    def run(obj, ops):
        echo = obj.echo
        for _ in range(ops):
            echo(value)

    return run


small_payload = echo_of(SMALL_STRUCT)
large_list = echo_of(LARGE_LIST)
bytes_512k = echo_of(BLOB_512K)
bytes_1m = echo_of(BLOB_1M)


def batched_calls(obj, ops):
    # One operation is one call. extradite sends BATCH calls per round trip
    # (method.batch); the peers have no batching and make them one by one.
    ping = obj.ping
    batch = getattr(ping, "batch", None)
    if batch is None:
        for _ in range(ops):
            ping()
        return
    calls = [((), {})] * BATCH
    for _ in range(max(ops // BATCH, 1)):
        batch(calls)


def _callback(i):
    return i


def callback_chatter(obj, ops):
    # One operation is one callback from the target to this process.
    chatter = obj.chatter
    for _ in range(max(ops // CHATTER_BATCH, 1)):
        chatter(_callback, CHATTER_BATCH)


def readline_ops(obj, ops):
    edit = obj.edit
    for i in range(ops):
        edit("line %d" % (i & 1023))


def pbkdf2(obj, ops):
    derive = obj.derive
    for _ in range(ops):
        derive(b"correct horse", b"battery staple")


def pipeline(obj, ops):
    # One operation: ingest 20 records, hash 4 KiB, summarize (3 calls).
    ingest, transform, summarize = obj.ingest, obj.transform, obj.summarize
    for _ in range(ops):
        ingest(RECORDS)
        transform(BLOB_4K)
        summarize()


def _readline_missing():
    if importlib.util.find_spec("readline") is None:
        return "the readline module is not available"
    return None


# name: (fn, workload class, ops, ops with --quick, peer -> reason it is n/a)
CASES = {
    "tiny_call": (tiny_call, "Pinger", 5000, 500, {}),
    "small_mutation": (small_mutation, "Pinger", 5000, 500, {}),
    "small_payload": (small_payload, "Pinger", 3000, 300, {}),
    "large_list": (large_list, "Pinger", 30, 5, {}),
    "batched_calls": (batched_calls, "Pinger", 20000, 2000, {}),
    "bytes_512k": (bytes_512k, "Pinger", 100, 10, {}),
    "bytes_1m": (bytes_1m, "Pinger", 100, 10,
                 {"rpyc": "about 0.1 s per call; see bytes_512k for RPyC"}),
    "callback_chatter": (callback_chatter, "Caller", 5000, 500,
                         {"managers": "managers cannot call back"}),
    "readline": (readline_ops, "LineEditor", 3000, 300, {}),
    "pbkdf2": (pbkdf2, "Hasher", 200, 20, {}),
    "pipeline": (pipeline, "Pipeline", 1000, 100, {}),
}

# ---- cold-start cases: one operation = start + construct + call + close ---

SHARE_KEY = "extradite-bench-warm"


def bare_python_start():
    subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True)


def cold_cycle(make):
    obj, close = make()
    try:
        obj.ping()
    finally:
        close()


def cold_cycle_no_spare():
    """A cold cycle with spare children off (EXTRADITE_SPARE=0): the child's
    interpreter starts in the timed part."""
    os.environ["EXTRADITE_SPARE"] = "0"
    try:
        cold_cycle(lambda: extradite_peer("Pinger"))
    finally:
        del os.environ["EXTRADITE_SPARE"]


COLD_PEERS = {
    "bare-python": (None, bare_python_start),
    "managers": (None, lambda: cold_cycle(lambda: managers_peer("Pinger"))),
    "rpyc": (None, lambda: cold_cycle(lambda: rpyc_peer("Pinger"))),
    "extradite": (None, lambda: cold_cycle(lambda: extradite_peer("Pinger"))),
}
NO_SPARE_PEERS = {
    "bare-python": (None, bare_python_start),
    "extradite": (None, cold_cycle_no_spare),
}
SHARE_KEEPALIVE = 60


WARM_TARGET = "isolated_workload:Pinger"


def prewarm_shared_child():
    """A fresh shared child that imported the workload while prewarming
    (preload); the keep-alive keeps it between cycles."""
    close_extradite_session(SHARE_KEY)
    prewarm_extradite_session(
        SHARE_KEY, share_keepalive_seconds=SHARE_KEEPALIVE, preload=(WARM_TARGET,)
    )


def prewarm_bare_shared_child():
    """A fresh shared child, up and idle: the workload is imported in the
    timed part."""
    close_extradite_session(SHARE_KEY)
    prewarm_extradite_session(SHARE_KEY, share_keepalive_seconds=SHARE_KEEPALIVE)


def warm_cycle():
    cls = extradite(WARM_TARGET, SHARE_KEY, share_keepalive_seconds=SHARE_KEEPALIVE)
    try:
        obj = cls()
        obj.ping()
        obj.close()
    finally:
        cls.close()


def keep_shared_child():
    """The shared child, started once and then kept by its keep-alive: from
    the second cycle on it has the target imported already."""
    prewarm_extradite_session(SHARE_KEY, share_keepalive_seconds=SHARE_KEEPALIVE)


WARM_PEERS = {
    "bare-python": (None, bare_python_start),
    "extradite": (prewarm_shared_child, warm_cycle),
}
WARM_IMPORT_PEERS = {
    "bare-python": (None, bare_python_start),
    "extradite": (prewarm_bare_shared_child, warm_cycle),
}
WARM_REUSE_PEERS = {
    "bare-python": (None, bare_python_start),
    "extradite": (keep_shared_child, warm_cycle),
}

COLD_CASES = {
    "cold_start": (COLD_PEERS, 10, 3),
    "cold_start_no_spare": (NO_SPARE_PEERS, 10, 3),
    "warm_session": (WARM_PEERS, 20, 5),
    "warm_session_import": (WARM_IMPORT_PEERS, 20, 5),
    "warm_reuse": (WARM_REUSE_PEERS, 50, 10),
}

ALL_CASES = list(COLD_CASES) + list(CASES)


def measure_cold(case, peer_name, repetitions, quick):
    peers, ops, quick_ops = COLD_CASES[case]
    prepare, cycle = peers[peer_name]
    if quick:
        ops = quick_ops
    runs = []
    try:
        for _ in range(repetitions):
            total = 0.0
            for _ in range(ops):
                if prepare is not None:
                    prepare()  # not timed
                start = time.perf_counter()
                cycle()
                total += time.perf_counter() - start
            runs.append(total / ops * 1e6)
    finally:
        if prepare is not None:
            close_extradite_session(SHARE_KEY)
    return runs


WARMUP_S = 0.05


def measure(case, peer_name, repetitions, quick):
    """Runs (µs/op per repetition); raises Skip when the peer cannot."""
    if case in COLD_CASES:
        return measure_cold(case, peer_name, repetitions, quick)
    fn, cls_name, ops, quick_ops, not_applicable = CASES[case]
    if peer_name in not_applicable:
        raise Skip(not_applicable[peer_name])
    if quick:
        ops = quick_ops
    obj, close = PEERS[peer_name](cls_name)
    try:
        # Warm up for a tenth of the ops and at least WARMUP_S: steady
        # state, past the start-up of whatever a new peer starts in the
        # background (extradite's spare child takes a core for ~8 ms).
        until = time.perf_counter() + WARMUP_S
        while True:
            fn(obj, max(ops // 10, 1))
            if time.perf_counter() >= until:
                break
        return [per_op_us(lambda n: fn(obj, n), ops) for _ in range(repetitions)]
    finally:
        close()


# The targets: (case, peer, most extradite/peer may be). warm_session
# is compared with extradite's own cold_start.
TARGETS = [
    ("tiny_call", "managers", 0.15),
    ("batched_calls", "managers", 0.02),
    ("bytes_1m", "managers", 0.5),
    ("cold_start", "bare-python", 2.0),
    ("cold_start_no_spare", "bare-python", 2.0),
    ("warm_session", "cold_start", 0.1),
    ("warm_reuse", "cold_start", 0.1),
    ("callback_chatter", "rpyc", 0.2),
    ("large_list", "rpyc", 0.2),
]


def print_targets(raw):
    print("# targets (extradite / peer, at most):")
    for case, peer, most in TARGETS:
        if case not in raw or "extradite" not in raw[case]:
            continue
        ext = statistics.median(raw[case]["extradite"])
        if peer == "cold_start":
            runs = raw.get("cold_start", {}).get("extradite")
        else:
            runs = raw[case].get(peer)
        if not runs:
            continue
        ratio = ext / statistics.median(runs)
        verdict = "met" if ratio <= most else "NOT met"
        print(f"#   {case:<20} vs {peer:<12} {ratio:>7.3f}  (target {most})  {verdict}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ratio(x):
    return f"{x:.3g}x" if x < 1000 else f"{x:.0f}x"


def case_peers(case):
    if case in COLD_CASES:
        return list(COLD_CASES[case][0])
    return list(PEERS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer operations per run")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--cases", default=",".join(ALL_CASES),
                    help="comma-separated, from: " + ", ".join(ALL_CASES))
    ap.add_argument("--json-output", help="write raw per-run numbers here")
    args = ap.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in ALL_CASES]
    if unknown:
        ap.error(f"unknown cases {unknown}; choose from {ALL_CASES}")
    if args.repetitions < 1:
        ap.error("--repetitions must be at least 1")

    raw, skipped = {}, {}
    for case in cases:
        if case == "readline" and _readline_missing():
            skipped[case] = {"*": _readline_missing()}
            print(f"# skipping {case}: {_readline_missing()}", file=sys.stderr)
            continue
        raw[case], skipped[case] = {}, {}
        for peer in case_peers(case):
            try:
                raw[case][peer] = measure(case, peer, args.repetitions, args.quick)
            except Skip as why:
                skipped[case][peer] = str(why)

    print(
        f"# {cpu_model()}, {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
        f", {time.strftime('%Y-%m-%d')}"
    )
    header = f"{'case':<21}{'peer':<13}{'us/op':>12}{'vs base':>11}{'ext/peer':>11}"
    print(header)
    print("-" * len(header))
    for case, peers in raw.items():
        ext = statistics.median(peers["extradite"])
        base = statistics.median(next(iter(peers.values())))
        for peer in case_peers(case):
            if peer not in peers:
                print(f"{case:<21}{peer:<13}{'n/a':>12}  ({skipped[case].get(peer, '')})")
                continue
            med = statistics.median(peers[peer])
            print(
                f"{case:<21}{peer:<13}{med:>12.2f}{_ratio(med / base):>11}"
                f"{_ratio(ext / med):>11}"
            )
    for case, why in skipped.items():
        if "*" in why:
            print(f"{case:<21}{'*':<13}{'n/a':>12}  ({why['*']})")
    print("# base: direct, or a bare `python -I -S -c pass` for the start-up cases")
    print_targets(raw)
    if args.json_output:
        with open(args.json_output, "w") as f:
            json.dump({"runs_us_per_op": raw, "skipped": skipped}, f, indent=2)


if __name__ == "__main__":
    main()
