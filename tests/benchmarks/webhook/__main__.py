"""Load test of the webhook: many signed WeChat users walking whole repair dialogs.

Run from the project root: .venv/bin/python -m tests.benchmarks.webhook [--seconds N] [--users N] [--workers 3,4,5]

This module reads the options, sets the bench up, runs the phases of each configuration in order,
prints the verdict and turns what happened into the exit status (0 pass, 1 bar missed, 2 setup
error, 130 interrupted), stopping every gunicorn on the way out.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .machine import set_priority
from .phases import Bench
from .report import Config, print_dialog, print_verdict, print_yardstick, summary_line
from .script import Behaviour, Vocabulary, make_plans
from .servers import Gunicorn
from .settings import APPID, DB_NAME, REDIS_URL, TOKEN
from .stores import flush_redis, prepare, sqlalchemy_url

YARDSTICK_REDIS_MODES = {"redis3": "calls3", "pipe2": "pipe2"}


def parse_workers(text: str) -> list[int | None]:
    if text in ("", "conf"):
        return [None]
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError("--workers takes numbers separated by commas, e.g. 3,4,5") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("--workers takes numbers >= 1")
    return list(values)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.webhook",
                                 description=__doc__.split("\n\n")[0] if __doc__ else None,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15.0, help="measured window per phase (default 15)")
    ap.add_argument("--warmup", type=float, default=5.0, help="warm-up before the window (default 5)")
    ap.add_argument("--users", type=int, default=500,
                    help="distinct bound users (openids) walking dialogs (default 500)")
    ap.add_argument("--concurrency", type=int, default=12,
                    help="messages in flight at once, each from a different user (default 12)")
    ap.add_argument("--workers", type=parse_workers, default=[None],
                    help="gunicorn worker counts to try, e.g. 3,4,5 (default: what deploy/gunicorn.conf.py says)")
    ap.add_argument("--yardsticks", default="echo",
                    help="comma list of: echo (bare echo), redis3 (echo + 3 Redis calls), "
                         "pipe2 (echo + 2 pipelined round trips, as many as dialogs/store.py makes); default echo")
    ap.add_argument("--profile", action="store_true",
                    help="also run one worker under cProfile with the dialog load and show where the time goes")
    ap.add_argument("--profile-only", action="store_true", help="skip the measured phases, only --profile")
    ap.add_argument("--profile-seconds", type=float, default=20.0)
    ap.add_argument("--profile-mode", choices=("cprofile", "sample", "both"), default="both",
                    help="cProfile, stack sampling on the CPU clock (no per-call distortion), or both (default)")
    ap.add_argument("--profile-timer", choices=("cpu", "wall"), default="cpu",
                    help="cProfile's clock: cpu (process time; default) or wall (includes waits for Redis/PostgreSQL)")
    ap.add_argument("--warm-turns", type=int, default=10,
                    help="the warm-up also lasts (up to 30 s) until users sent this many messages each on average "
                         "(default 10)")
    ap.add_argument("--gunicorn-args", default="",
                    help="extra gunicorn options for every phase, through GUNICORN_CMD_ARGS (to try settings: "
                         "e.g. '--worker-class gthread --threads 4')")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--monitor-seconds", type=float, default=2.0,
                    help="after the dialog window, keep the load on this long with Redis MONITOR counting the "
                         "commands on the bench's db (0: skip)")
    ap.add_argument("--nice", type=int, default=0,
                    help="scheduling priority for the bench and the gunicorns it starts (e.g. -10 on a machine "
                         "shared with other work; Redis and PostgreSQL keep theirs); default 0")
    ap.add_argument("--quiet-wait", type=float, default=60.0,
                    help="before each phase, wait up to this long for other programs to leave the CPU (default 60)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (gunicorn logs, profile)")
    return ap


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = _parser()
    args = ap.parse_args(argv)
    sticks = [s for s in args.yardsticks.split(",") if s]
    if "echo" not in sticks or any(s not in ("echo", *YARDSTICK_REDIS_MODES) for s in sticks):
        ap.error("--yardsticks must include echo, and may add redis3 and pipe2")
    args.yardsticks = sticks
    if args.users < 1 or args.concurrency < 1:
        ap.error("--users and --concurrency must be at least 1")
    return args


def bench_env(args: argparse.Namespace, tmp: Path, dead_port: int) -> dict[str, str]:
    """The environment of every gunicorn: the bench's database and Redis db, a WeChat that refuses all."""
    env = {
        "REPAIRBOT_DATABASE_URL": sqlalchemy_url(),
        "REPAIRBOT_REDIS_URL": REDIS_URL,
        "REPAIRBOT_INSTANCE_PATH": str(tmp / "instance"),
        "REPAIRBOT_MEDIA_DIR": str(tmp / "instance" / "media"),
        "REPAIRBOT_SECRET_KEY": "bench-secret",
        "REPAIRBOT_PUBLIC_URL": "http://127.0.0.1:9",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "bench-app-secret",
        "WECHAT_AES_KEY": "",  # plain mode, whatever a .env says
        "WECHAT_API_BASE_URL": f"http://127.0.0.1:{dead_port}/cgi-bin/",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if args.gunicorn_args:
        env["GUNICORN_CMD_ARGS"] = args.gunicorn_args
    return env


def set_up(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Bench:
    """Fill the database, flush Redis, learn the bot's prompts; say what the load will be."""
    t = time.perf_counter()
    register = prepare(args.users)
    flush_redis()
    behaviour = Behaviour(Vocabulary.load(), make_plans(register))
    print(f"setup: database {DB_NAME} with {args.users} bound users, register "
          f"{len(behaviour.plans)} category/group/campus plans, Redis {REDIS_URL} flushed "
          f"({time.perf_counter() - t:.1f} s)")
    print(f"load: {args.users} users, {args.concurrency} messages in flight, warm-up {args.warmup:.0f} s, "
          f"window {args.seconds:.0f} s per phase; gunicorn -c deploy/gunicorn.conf.py"
          + (f" + GUNICORN_CMD_ARGS={args.gunicorn_args!r}" if args.gunicorn_args else "")
          + (f"; nice {args.nice}" if args.nice else "") + f"; temp folder {tmp}")
    return Bench(args, tmp, behaviour, env)


def run_config(bench: Bench, workers: int | None) -> Config:
    """The dialog phase and the yardsticks with `workers` workers, each printed as it ends."""
    dialog = bench.dialog(workers)
    print_dialog(dialog)
    sticks = {}
    for name in ["echo", *(s for s in bench.args.yardsticks if s != "echo")]:
        sticks[name] = bench.yardstick(name, workers, redis_mode=YARDSTICK_REDIS_MODES.get(name, ""))
        print_yardstick(sticks[name])
    print(summary_line(dialog, sticks), flush=True)
    return dialog, sticks


def run(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> int:
    bench = set_up(args, tmp, env)
    configs = [run_config(bench, workers) for workers in ([] if args.profile_only else args.workers)]
    if args.profile or args.profile_only:
        for mode in ("cprofile", "sample") if args.profile_mode == "both" else (args.profile_mode,):
            bench.profile(mode)
    if not configs:
        return 0
    return 0 if print_verdict(configs) else 1


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows even when redirected
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)  # even when started in the background (SIGINT ignored there)
    if args.nice:
        set_priority(args.nice)
    tmp = Path(tempfile.mkdtemp(prefix="repairbot-bench-"))
    dead = socket.socket()  # bound, never listening: WeChat's API "is" here and refuses every connection
    dead.bind(("127.0.0.1", 0))
    exit_code = 1
    try:
        exit_code = run(args, tmp, bench_env(args, tmp, dead.getsockname()[1]))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        exit_code = 130
    except RuntimeError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        exit_code = 2
    finally:
        Gunicorn.stop_all()
        dead.close()
        if args.keep or exit_code == 2:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
