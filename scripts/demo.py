"""The main job: controller + Mininet topology, connectivity proof, then run until Ctrl-C.

    sudo .venv/bin/python -m scripts.demo [--topo SPEC] [--scripted] [--cli]

Starts Open vSwitch if needed, ``ryu-manager controller/app.py`` on loopback, and the
topology; proves connectivity (every host pair pings); prints where the controller
listens. ``--scripted`` exits after the demonstration (status 0 only if everything
worked); otherwise it keeps running until Ctrl-C. Everything it started is stopped
on the way out.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from scripts import lab
from topologies import build_topo

DEFAULT_TOPO = "linear,4"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--topo",
        default=DEFAULT_TOPO,
        help=f"topology spec, e.g. linear,4 ring,6 fattree,4 (default {DEFAULT_TOPO})",
    )
    parser.add_argument(
        "--scripted",
        action="store_true",
        help="exit after the demonstration; non-zero status if anything failed",
    )
    parser.add_argument(
        "--cli", action="store_true", help="open the Mininet CLI instead of waiting"
    )
    args = parser.parse_args(argv)

    problems = lab.missing_prerequisites()
    if problems:
        print("cannot run the demo:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    try:
        topo = build_topo(args.topo)
    except (ValueError, TypeError) as exc:
        print(f"bad --topo: {exc}", file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, _raise_interrupt)
    failures: list[str] = []
    try:
        with lab.lab(topo) as (ctl, net):
            t0 = time.monotonic()
            sent, lost = net.pingall()
            loss = 100.0 * lost / sent if sent else 0.0
            print(
                f"*** pingall: {sent} pings, {lost} lost ({loss:.0f}% loss) "
                f"in {time.monotonic() - t0:.1f}s"
            )
            if lost:
                failures.append(f"pingall lost {lost}/{sent}")
            print(
                f"*** controller: OpenFlow tcp:127.0.0.1:{ctl.of_port}, "
                f"REST http://127.0.0.1:{ctl.rest_port}/, pid {ctl.pid}, log {ctl.log_path}"
            )
            if not ctl.alive():
                failures.append("ryu-manager died")
            if not args.scripted:
                if args.cli:
                    from mininet.cli import CLI

                    CLI(net.net)
                else:
                    print("*** running; press Ctrl-C to stop and clean up")
                    while ctl.alive():
                        time.sleep(1)
                    failures.append("ryu-manager exited")
                    print(ctl.log_tail(), file=sys.stderr)
    except KeyboardInterrupt:
        print("\n*** interrupted; cleaned up")
    except lab.LabError as exc:
        print(f"*** FAILED: {exc}", file=sys.stderr)
        return 1
    if failures:
        print("*** FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("*** OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
