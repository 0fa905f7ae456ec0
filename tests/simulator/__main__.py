"""Run the simulator:  PYTHONPATH=tests python -m simulator --state-dir DIR [-- COMMAND ...]

Without a command it serves until interrupted. With one, it starts, runs the command with
SIMULATOR_CONFIG pointing at simulator.json, stops, and exits with the command's status.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading

from simulator.server import Running


def parse_args(argv):
    command = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True,
                        help="where simulator.json, ca.pem, certificates and requests.log go")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SIMULATOR_SEED", "1")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", action="append", default=[], metavar="NAME=PORT",
                        help="fixed port for an appliance (or 'control'); default: any free port")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="start only these appliances")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="appliance options, e.g. ontap.servers=100000")
    args = parser.parse_args(argv)
    args.command = command
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ports = dict((k, int(v)) for k, v in (p.split("=", 1) for p in args.port))
    options = dict(o.split("=", 1) for o in args.option)
    running = Running(args.state_dir, seed=args.seed, host=args.host, ports=ports,
                      only=set(args.only), options=options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("simulator ready: %s" % running.config_path, flush=True)
    try:
        if args.command:
            env = dict(os.environ, SIMULATOR_CONFIG=running.config_path)
            return subprocess.call(args.command, env=env)
        stop.wait()
        return 0
    finally:
        running.stop()


if __name__ == "__main__":
    sys.exit(main())
