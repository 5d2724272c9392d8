"""extradite benchmark: the same workloads run directly, through
multiprocessing.managers, through RPyC (when installed) and through
extradite, all in one run, printed as one table with ratios.

    python bench/run.py [--quick] [--repetitions N] [--cases a,b]
                        [--json-output FILE]

Numbers are microseconds per operation, the median over repetitions.
Compare ratios within one run, never absolute numbers across machines.
"""

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from multiprocessing.managers import BaseManager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from workload import Pinger  # noqa: E402

from extradite import extradite  # noqa: E402


def per_op_us(fn, ops):
    start = time.perf_counter()
    fn(ops)
    return (time.perf_counter() - start) / ops * 1e6


# ---- peers: each returns a Pinger-like object and a closer ---------------


def direct_peer():
    return Pinger(), lambda: None


class _Manager(BaseManager):
    pass


_Manager.register("Pinger", Pinger)


def managers_peer():
    manager = _Manager()
    manager.start()
    return manager.Pinger(), manager.shutdown


def _rpyc_server(conn):
    import rpyc
    from rpyc.utils.server import ThreadedServer

    class Service(rpyc.Service):
        def exposed_pinger(self):
            return Pinger()

    server = ThreadedServer(
        Service, hostname="127.0.0.1", port=0,
        protocol_config={"allow_public_attrs": True},
    )
    conn.send(server.port)
    server.start()


def rpyc_peer():
    try:
        import rpyc
    except ImportError:
        return None
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_rpyc_server, args=(child,), daemon=True)
    proc.start()
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

    def close():
        conn.close()
        proc.terminate()
        proc.join()

    return conn.root.pinger(), close


def extradite_peer():
    cls = extradite("isolated_workload:Pinger")
    obj = cls()

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

# ---- cases ---------------------------------------------------------------


def tiny_call(obj, ops):
    ping = obj.ping
    for _ in range(ops):
        ping()


def small_mutation(obj, ops):
    bump = obj.bump
    for _ in range(ops):
        bump(1)


CASES = {
    "tiny_call": (tiny_call, 5000),
    "small_mutation": (small_mutation, 5000),
}


def measure(case, peer_name, repetitions, quick):
    fn, ops = CASES[case]
    if quick:
        ops = max(ops // 10, 100)
    made = PEERS[peer_name]()
    if made is None:
        return None
    obj, close = made
    try:
        fn(obj, max(ops // 10, 10))  # warm up
        return [per_op_us(lambda n: fn(obj, n), ops) for _ in range(repetitions)]
    finally:
        close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer operations per run")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated")
    ap.add_argument("--json-output", help="write raw per-run numbers here")
    args = ap.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown cases {unknown}; choose from {sorted(CASES)}")
    if args.repetitions < 1:
        ap.error("--repetitions must be at least 1")

    raw = {}
    for case in cases:
        raw[case] = {}
        for peer in PEERS:
            runs = measure(case, peer, args.repetitions, args.quick)
            if runs is not None:
                raw[case][peer] = runs

    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", {time.strftime('%Y-%m-%d')}"
    )
    header = f"{'case':<16}{'peer':<11}{'us/op':>10}{'vs direct':>11}{'ext/peer':>10}"
    print(header)
    print("-" * len(header))
    for case, peers in raw.items():
        ext = statistics.median(peers["extradite"])
        direct = statistics.median(peers["direct"])
        for peer, runs in peers.items():
            med = statistics.median(runs)
            print(
                f"{case:<16}{peer:<11}{med:>10.2f}{med / direct:>10.1f}x"
                f"{ext / med:>9.3f}x"
            )
    if args.json_output:
        with open(args.json_output, "w") as f:
            json.dump({"runs_us_per_op": raw}, f, indent=2)


if __name__ == "__main__":
    main()
