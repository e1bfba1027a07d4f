"""The `baton` console command.

    baton serve [--host 127.0.0.1] [--port 8741] [--token T] [--max-parallel 3] [--workers N] [--no-worker]
    baton worker [celery worker options...]
    baton manage <django command> [...]

`serve` applies migrations, loads the agent registry, then runs daphne (a web process per core by default) and,
for the embedded default (no REDIS_URL), a Celery worker on the filesystem broker, all in the foreground until
Ctrl-C or SIGTERM, when it stops its children cleanly and exits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

SHUTDOWN_GRACE_SECONDS = 10.0
# SQLite has one writer at a time: web processes beyond this add memory, not throughput.
SQLITE_WEB_PROCESS_LIMIT = 4
# Without Redis, a stream sees an event published by a sibling web process at its next check of the event table.
SIBLING_STREAM_POLL_INTERVAL = "0.1"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})  # noqa: S104 - compared against, not bound


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
    import django

    django.setup()


def _prepare_database(verbosity: int) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    from django.apps import apps

    if apps.is_installed("agents"):
        try:
            call_command("load_agents", verbosity=verbosity)
        except Exception as exc:  # noqa: BLE001 - a registry problem must not stop the server from starting
            print(f"baton: agent registry not loaded: {exc}", file=sys.stderr)


def _checkpoint_here(env: dict[str, str]) -> None:
    """On an SQLite database file, this process (which otherwise only waits on its children) copies the log back
    into the database for all of them, and the processes it starts do not (see `baton_site.db.base`)."""
    from django.conf import settings
    from django.db import connection

    from baton_site.db.base import checkpointer, lock_path

    if connection.vendor != "sqlite" or not settings.BATON_SQLITE_CHECKPOINTS:
        return
    path = lock_path(connection.settings_dict)
    if path is None:
        return
    checkpointer.watch(path.removesuffix(".writer-lock"))
    env["BATON_SQLITE_CHECKPOINTS"] = "0"


class _Supervisor:
    """Runs child processes in the foreground and stops them all when one exits or a signal arrives."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False

    def spawn(
        self, name: str, argv: Sequence[str], env: dict[str, str], pass_fds: Sequence[int] = ()
    ) -> None:
        process = subprocess.Popen(list(argv), env=env, pass_fds=tuple(pass_fds))  # noqa: S603 - our own argv
        self.children.append((name, process))

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        exit_code = 0
        while not self.stopping:
            for name, child in self.children:
                code = child.poll()
                if code is not None:
                    print(f"baton: {name} exited with status {code}; stopping", file=sys.stderr)
                    exit_code = code or 1
                    self.stopping = True
                    break
            time.sleep(0.2)
        self.stop_all()
        return exit_code

    def stop_all(self) -> None:
        for _, child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        for _, child in self.children:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


ASGI_APP = "baton_site.asgi:application"


def default_web_processes(settings: Any) -> int:
    """One web process per core: Python runs one request at a time per process, so one process uses one core."""
    cores = os.cpu_count() or 1
    if settings.DATABASES["default"]["ENGINE"] == "baton_site.db":
        return min(cores, SQLITE_WEB_PROCESS_LIMIT)
    return cores


def _sibling_environment(settings: Any, env: dict[str, str]) -> dict[str, str]:
    """What several web processes on one port need beyond one process's environment.

    - Request counters and latency histograms summed over the processes on `/metrics`: prometheus_client's
      multi-process mode, in a folder of this run under `<data dir>/metrics/` (its files are per process id, and
      two servers may share a data directory). Folders of runs that are gone are removed.
    - Without Redis, each process's channel layer is its own: a stream held by one process learns of an event
      published by another from the event table, so the table is checked every 0.1 s (not 1 s) while streams are
      open.
    """
    extra: dict[str, str] = {}
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        runs = Path(settings.DATA_DIR) / "metrics"
        runs.mkdir(exist_ok=True)
        for run in runs.iterdir():
            if not run.name.isdigit() or not _process_exists(int(run.name)):
                shutil.rmtree(run, ignore_errors=True)
        folder = runs / str(os.getpid())
        folder.mkdir(exist_ok=True)
        extra["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    if not settings.REDIS_URL and "BATON_STREAM_POLL_INTERVAL" not in env:
        extra["BATON_STREAM_POLL_INTERVAL"] = SIBLING_STREAM_POLL_INTERVAL
    return extra


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists (PermissionError: it does)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.setblocking(False)
    return listener


def _connection_counts(processes: int) -> int | None:
    """A zeroed memory block the web processes share to balance their connections (`baton_site.web`), as a file
    descriptor they inherit; None where the system has no memfd_create (then the kernel alone spreads them)."""
    if not hasattr(os, "memfd_create"):
        return None
    fd = os.memfd_create("baton-web-connections")
    os.ftruncate(fd, processes * 8)
    return fd


def _serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
    if args.token is not None:
        env["BATON_API_TOKEN"] = args.token
    if args.max_parallel is not None:
        env["BATON_MAX_PARALLEL"] = str(args.max_parallel)
    if "BATON_ALLOWED_HOSTS" not in env:
        if args.host in WILDCARD_HOSTS:
            print(
                "baton: binding all interfaces; set BATON_ALLOWED_HOSTS to the names clients use",
                file=sys.stderr,
            )
        elif args.host not in LOCAL_HOSTS:
            env["BATON_ALLOWED_HOSTS"] = f"localhost,127.0.0.1,[::1],{args.host}"
    os.environ.update(env)

    _setup_django()
    from django.conf import settings

    _prepare_database(verbosity=args.verbosity)
    _checkpoint_here(env)

    supervisor = _Supervisor()
    workers = args.workers or default_web_processes(settings)
    listener: socket.socket | None = None
    siblings: dict[str, str] = {}
    if workers > 1:
        try:
            listener = _listen(args.host, args.port)
        except OSError as exc:
            print(f"baton: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        siblings = _sibling_environment(settings, env)
        env.update(siblings)
    verbosity = ["-v", "0"] if args.verbosity == 0 else []
    # daphne's access log prints query strings, and SSE clients pass `?token=`: keep it off unless asked for
    # (--verbosity 2); request counts and latencies are on /metrics, mutations in the audit log.
    if args.verbosity >= 2:
        daphne = [sys.executable, "-m", "daphne", *verbosity, "--access-log", "-"]
    else:
        daphne = [sys.executable, "-m", "baton_site.web", *verbosity]
    if listener is None:
        supervisor.spawn("daphne", [*daphne, "-b", args.host, "-p", str(args.port), ASGI_APP], env)
    else:
        # One listening socket, made here and inherited by every daphne, which balance their connections.
        counts = _connection_counts(workers)
        for slot in range(workers):
            command = [*daphne, "--fd", str(listener.fileno()), ASGI_APP]
            fds = (listener.fileno(),) if counts is None else (listener.fileno(), counts)
            child_env = env if counts is None else {**env, "BATON_WEB_BALANCE": f"{counts}:{slot}:{workers}"}
            supervisor.spawn(f"daphne {slot + 1}", command, child_env, pass_fds=fds)
        listener.close()
        if counts is not None:
            os.close(counts)
    if not args.no_worker and not settings.REDIS_URL:
        worker = [sys.executable, "-m", "celery", "-A", "baton_site", "worker", "--pool", "threads"]
        worker += [
            "--concurrency",
            str(settings.BATON_WORKER_THREADS),
            "--loglevel",
            "WARNING" if args.verbosity < 2 else "INFO",
        ]
        supervisor.spawn("celery worker", worker, env)
    token_note = "token required" if settings.BATON_API_TOKEN else "no token: open"
    print(f"baton: serving on http://{args.host}:{args.port}/ ({token_note}); Ctrl-C to stop", flush=True)
    try:
        return supervisor.run()
    finally:
        if "PROMETHEUS_MULTIPROC_DIR" in siblings:  # this run's folder, made above
            shutil.rmtree(siblings["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def _worker(extra: Sequence[str]) -> int:
    _setup_django()
    from baton_site.celery import app

    app.worker_main(["worker", "--loglevel", "INFO", *extra])
    return 0


def _manage(extra: Sequence[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["baton manage", *extra])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Baton orchestration server.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations and run the server in the foreground")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8741, help="listen port (default 8741)")
    serve.add_argument("--token", default=None, help="bearer token required by the API (default: none, open)")
    serve.add_argument(
        "--max-parallel", type=int, default=None, help="maximum concurrent dispatches (default 3)"
    )
    serve.add_argument("--no-worker", action="store_true", help="do not start the embedded Celery worker")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="web processes sharing the port (default: one per core; at most 4 on SQLite)",
    )
    serve.add_argument("--verbosity", type=int, default=1, choices=[0, 1, 2])
    commands.add_parser("worker", help="run a Celery worker (extra arguments go to celery)")
    commands.add_parser("manage", help="run a Django management command, e.g. `baton manage createsuperuser`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("worker", "manage"):
        return _worker(argv[1:]) if argv[0] == "worker" else _manage(argv[1:])
    args = build_parser().parse_args(argv)
    if args.max_parallel is not None and args.max_parallel < 1:
        build_parser().error("--max-parallel must be at least 1")
    if args.workers is not None and args.workers < 1:
        build_parser().error("--workers must be at least 1")
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
