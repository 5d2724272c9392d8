"""`python -m extradite`: profiles, check, learn, selftest.

Argument parsing and printing only: the child, its sandbox and the
recording of system calls are the C core's. A user error (bad target, bad
profile, a target that cannot load) is one line on stderr and a non-zero
exit, never a traceback: 2 for bad arguments, 1 when the command ran and
the answer is "no".
"""

import argparse
import os
import sys

EXIT_NO = 1
EXIT_USAGE = 2


class CliError(Exception):
    """One line for stderr, and the exit status."""

    def __init__(self, message, status=EXIT_NO):
        super().__init__(message)
        self.status = status


def _describe_exception(exc):
    """One line naming what went wrong in the child."""
    import extradite

    if isinstance(exc, extradite.ExtraditeSandboxViolation):
        return f"sandbox violation: the child called {exc.syscall or exc.syscall_nr}, " \
               "which every confined profile forbids"
    if isinstance(exc, extradite.ExtraditeRemoteError):
        # the child chose this text: escaped before it is printed
        return extradite._core.escape_text(f"{exc.remote_type_name}: {exc.remote_message}")
    return f"{type(exc).__name__}: {exc}"


def open_target(target, sandbox, **kwargs):
    """extradite(target, sandbox=...), with every way it can fail turned
    into a CliError."""
    import extradite

    try:
        return extradite.extradite(target, sandbox=sandbox, **kwargs)
    except (ValueError, TypeError) as e:
        # malformed target or profile: the message names what is wrong
        raise CliError(str(e).removeprefix("extradite: "), EXIT_USAGE) from None
    except extradite.ExtraditeModuleLeakError as e:
        raise CliError(str(e).removeprefix("extradite: "), EXIT_USAGE) from None
    except extradite.ExtraditeError as e:
        from . import _sandbox

        name = _sandbox._chosen(sandbox)
        raise CliError(
            f"{target} cannot load under profile {name!r}: {_describe_exception(e)}"
        ) from None


def public_methods(cls):
    """Names of the proxy class's remote methods, without the private ones
    and the proxy's own (close, sandbox_report, ...)."""
    from . import _core

    return sorted(
        name
        for name, value in vars(cls).items()
        if isinstance(value, _core.MethodDescriptor) and not name.startswith("_")
    )


def _flatten(report, prefix=""):
    for key, value in report.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            yield f"{prefix}{key}", ", ".join(value) if value else "(none)"
        else:
            yield f"{prefix}{key}", value


# ---- profiles ------------------------------------------------------------


def cmd_profiles(args):
    from . import _sandbox

    rows = _sandbox.builtin_descriptions()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    default = os.environ.get("EXTRADITE_SANDBOX") or "default"
    print(f"\nWithout --sandbox (or sandbox=) the profile is {default!r} "
          "($EXTRADITE_SANDBOX, else 'default').")
    return 0


# ---- check ---------------------------------------------------------------


def cmd_check(args):
    cls = open_target(args.target, args.sandbox)
    try:
        report = cls.sandbox_report()
        kind = "function" if not isinstance(cls, type) else "class"
        print(f"target: {args.target} ({kind}), loaded")
        print("sandbox_report():")
        landlock = report.get("landlock") if isinstance(report, dict) else None
        grants = withheld = ()
        if isinstance(landlock, dict):
            grants = landlock.pop("grants", ())
            withheld = landlock.pop("withheld", ())
        rows = list(_flatten(report))
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"  {key:<{width}}  {value}")
        _print_grants(grants, withheld)
        if kind == "class":
            methods = public_methods(cls)
            print(f"public methods ({len(methods)}):")
            for name in methods:
                print(f"  {name}")
    finally:
        cls.close()
    return 0


def _print_grants(grants, withheld):
    """Each Landlock grant with why it is there; a warning for a profile
    entry that opens the root or a home directory, which no placeholder
    ever grants."""
    from . import _sandbox

    if not grants and not withheld:
        return
    print(f"landlock grants ({len(grants)}):")
    for grant in grants:
        print(f"  {grant['access']:<5}  {grant['path']}  ({grant['reason']})")
    for entry in withheld:
        print(f"  not granted: {entry['path']} from {entry['placeholder']} ({entry['reason']})")
    for grant in grants:
        why = _sandbox.never_granted(grant["path"])
        if why and grant["reason"].startswith("profile:"):
            print(f"warning: the profile grants {grant['access']} access to {grant['path']}, "
                  f"{why}: the target can read everything under it (secrets, keys, "
                  "dotfiles). Grant the files it needs instead.", file=sys.stderr)


# ---- learn ---------------------------------------------------------------


def cmd_learn(args):
    from . import _learn

    text = _learn.learn(args.target, args.exercise, args.base, args.call_timeout,
                        command=" ".join(["python -m extradite", *sys.argv[1:]]))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.output, "w") as f:
                f.write(text)
        except OSError as e:
            raise CliError(f"cannot write {args.output}: {e.strerror}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


# ---- selftest ------------------------------------------------------------


def cmd_selftest(args):
    from ._selftest import runner

    return runner.main(args.sandbox, args.only, verbose=args.verbose)


# ---- parsing -------------------------------------------------------------


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m extradite",
        description="Inspect, fit and test extradite sandbox profiles.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "profiles", help="list the built-in profiles",
        description="List the built-in sandbox profiles with one line each.",
    )
    p.set_defaults(run=cmd_profiles)

    target_help = "what to load: 'module.path:ClassName' (or 'module.path:function')"
    sandbox_help = ("a built-in profile (see `profiles`) or a profile file; "
                    "default: $EXTRADITE_SANDBOX, else 'default'")

    p = sub.add_parser(
        "check", help="load a target under a profile and show what was applied",
        description="Start TARGET in a child confined by the profile, print its "
        "sandbox_report() and the class's public methods. Exits 1 with the "
        "reason when the target cannot load under that profile.",
    )
    p.add_argument("target", metavar="TARGET", help=target_help)
    p.add_argument("--sandbox", metavar="PROFILE", help=sandbox_help)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser(
        "learn", help="record what a target uses and write a profile granting it",
        description="Run TARGET with the base profile's hard denials kept and "
        "every other system call recorded instead of refused (seccomp user "
        "notification; Landlock is off while learning and file opens are "
        "recorded instead), call exercise(proxy) from SCRIPT, and write a "
        "profile that extends the base and grants exactly what was used, "
        "one comment per grant. Learning confines the target only by the hard "
        "denials: learn on code you would run yourself.",
    )
    p.add_argument("target", metavar="TARGET", help=target_help)
    p.add_argument("--exercise", metavar="SCRIPT", required=True,
                   help="a Python file defining exercise(target), called with the "
                   "proxy class (or proxy function)")
    p.add_argument("--base", metavar="PROFILE", default="default",
                   help="the built-in profile to extend (default: default)")
    p.add_argument("-o", "--output", metavar="FILE", default="-",
                   help="where to write the profile (default: - for stdout)")
    p.add_argument("--call-timeout", metavar="SECONDS", type=float, default=120.0,
                   help="bound on each call while learning (default: 120)")
    p.set_defaults(run=cmd_learn)

    p = sub.add_parser(
        "selftest", help="run the hostile corpus against a profile on this kernel",
        description="Run extradite's own hostile corpus (escape attempts from the "
        "security regression suite) against a profile on this machine and print "
        "attempt, expected and outcome. Exits 1 if anything that should be "
        "refused was not.",
    )
    p.add_argument("--sandbox", metavar="PROFILE", default="default",
                   help="a built-in profile or a profile file (default: default)")
    p.add_argument("--only", metavar="SUBSTRING",
                   help="run only the attempts whose name contains SUBSTRING")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print the detail of every outcome")
    p.set_defaults(run=cmd_selftest)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as e:
        print(f"python -m extradite {args.command}: {e}", file=sys.stderr)
        return e.status
    except BrokenPipeError:
        # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"python -m extradite {args.command}: interrupted", file=sys.stderr)
        return 130
