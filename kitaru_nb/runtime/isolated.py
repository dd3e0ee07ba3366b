"""``@checkpoint(runtime="isolated")``: the checkpoint's body runs in a worker process.

Only the body call moves. The flow, its journal and the record of every attempt stay in this
process, so retries, ``retry_delay`` / ``backoff``, ``on_error`` and ``.submit`` / ``.map`` /
``.product`` behave exactly as for inline checkpoints (a submitted call's thread waits for its
worker). A body that segfaults, calls ``os._exit`` or is killed takes its worker down, not the
kernel: the attempt fails with a message naming the exit code, and the next call gets a fresh
worker.

What crosses the process boundary is pickled with cloudpickle, both ways: the function (by value
when it is not importable by name, so functions defined in a notebook's ``__main__`` work), its
arguments and the globals it uses; then its return value, or its exception with the worker's
traceback text. The worker follows the kernel's working directory and ``sys.path`` on each call.

Who runs the body is a small protocol, ``IsolatedRunner.run(fn, args, kwargs, name=...)``, so a
cluster's client can be plugged in with ``set_runner`` without touching the engine. The default is
``WorkerPool``: a warm pool of worker processes, each a fresh interpreter started with ``subprocess``
(never fork, which is unsafe in a kernel with threads; multiprocessing's spawn only where pipes
cannot be handed to a subprocess), lazily on the first isolated call,
at most ``configure(max_workers=N)`` or ``min(cpus, 4)`` of them, stopped at interpreter exit. Each
worker serves one call at a time over its own pipe, so a worker that dies fails only the call it
was running.
"""

from __future__ import annotations

import io
import marshal
import os
import pickle
import re
import signal
import sys
import threading
import types
from collections import ChainMap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from kitaru_nb.errors import KitaruContextError, KitaruError, KitaruRuntimeError, KitaruUsageError
from kitaru_nb.models import FailureInfo
from kitaru_nb.runtime.context import Recorder, cell_numbers, current_run, format_traceback, type_name
from kitaru_nb.types import FailureOrigin

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

RUNTIMES = ("inline", "isolated")


def normalize_runtime(value: object) -> str:
    """Kitaru's rule: a str matched without case or surrounding blanks; None is the default, which is
    ``"inline"`` here (Kitaru leaves None to its orchestrator; kitaru_nb's is this kernel)."""
    if value is None:
        return "inline"
    if isinstance(value, str) and value.strip().lower() in RUNTIMES:
        return value.strip().lower()
    raise KitaruUsageError(
        f"Unsupported checkpoint runtime {value!r}. Expected one of: {', '.join(RUNTIMES)}. "
        '@checkpoint(runtime="inline"), the default, runs the body in this process; runtime="isolated" runs it '
        "in a worker process, so a crash there cannot take the kernel down."
    )


# -- errors ---------------------------------------------------------------------------------


class IsolatedCheckpointError(KitaruRuntimeError):
    """An isolated checkpoint's body could not be sent to its worker, run there, or bring its
    outcome back (its worker died, its return value does not pickle)."""


class IsolatedWorkerDied(IsolatedCheckpointError):
    """The worker process running an isolated checkpoint ended before the body returned."""

    def __init__(self, message: str, *, exitcode: int | None = None):
        super().__init__(message)
        self.exitcode = exitcode


class IsolatedBodyError(KitaruError, RuntimeError):
    """An isolated checkpoint's body raised an exception that could not come back as itself (it does
    not pickle). ``exception_type`` and ``traceback`` are the original's; the message starts with
    its type."""

    def __init__(self, message: str, *, exception_type: str = "", traceback: str = ""):
        super().__init__(message)
        self.exception_type = exception_type
        self.traceback = traceback


def failure_of(exc: BaseException) -> FailureInfo:
    """The journaled failure of a checkpoint attempt that raised ``exc``: for an isolated body the
    original exception's type, message and the worker's traceback."""
    failure = getattr(exc, "_kitaru_failure", None)
    if isinstance(failure, FailureInfo):
        return failure
    return FailureInfo(FailureOrigin.USER_CODE, str(exc), type_name(exc), format_traceback(exc))


def _with_failure(exc: BaseException, failure: FailureInfo) -> BaseException:
    try:
        exc._kitaru_failure = failure  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - an exception class that refuses attributes
        pass
    return exc


class RemoteTraceback(Exception):
    """The worker's traceback, set as the ``__cause__`` of an exception brought back from it (as
    ``concurrent.futures`` does for process pools), so a notebook shows where the body failed."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


# -- the protocol ---------------------------------------------------------------------------


class IsolatedRunner(Protocol):
    """Runs a checkpoint body away from this process and returns its value (or raises its error)."""

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, name: str) -> Any: ...

    def shutdown(self) -> None: ...


_lock = threading.Lock()
_runner: IsolatedRunner | None = None
_max_workers: int | None = None
_atexit_registered = False


def run_isolated(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, name: str = "") -> Any:
    """``fn(*args, **kwargs)`` in a worker process; its value, or its exception raised here."""
    return runner().run(fn, args, kwargs, name=name or getattr(fn, "__name__", "?"))


def runner() -> IsolatedRunner:
    """The runner of isolated bodies (a ``WorkerPool``, started on first use)."""
    global _runner, _atexit_registered
    with _lock:
        if _runner is None:
            _runner = WorkerPool(_max_workers)
            if not _atexit_registered:
                import atexit

                # registered after multiprocessing's own exit hook, so it runs first: the workers
                # are told to stop before multiprocessing joins its children
                atexit.register(shutdown)
                _atexit_registered = True
        return _runner


def set_runner(new: IsolatedRunner | None) -> None:
    """Run isolated bodies with ``new`` (None: the default worker pool); the old runner is shut down."""
    global _runner
    with _lock:
        old, _runner = _runner, new
    if old is not None and old is not new:
        old.shutdown()


def set_max_workers(n: int | None) -> None:
    """Worker processes of the default pool (None: ``min(cpus, 4)``); the pool is replaced, calls
    already running finish on their workers."""
    global _max_workers
    with _lock:
        _max_workers = n
        replace = isinstance(_runner, WorkerPool)
    if replace:
        set_runner(None)


def shutdown() -> None:
    """Stop the runner's workers (at interpreter exit; the next isolated call starts a new pool)."""
    set_runner(None)


# -- the default runner: a warm pool of worker processes --------------------------------------


def default_workers() -> int:
    return min(os.cpu_count() or 1, 4)


class _Worker:
    """One worker process, the pipe the kernel sends calls on and the one it reads replies from."""

    inbox: Connection  # worker -> kernel
    outbox: Connection  # kernel -> worker

    def alive(self) -> bool:
        raise NotImplementedError

    def exitcode(self) -> int | None:
        """The exit code once it has ended (waits up to 5 s for that); negative: the signal."""
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Ask the worker to leave (an empty message); kill it when it does not within a second."""
        try:
            self.outbox.send_bytes(b"")
        except OSError:
            pass
        self._join(1)
        self.kill()

    def _join(self, timeout: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.inbox.close()
        if self.outbox is not self.inbox:
            self.outbox.close()


class _ExecWorker(_Worker):
    """A fresh interpreter started with ``subprocess`` (POSIX): spawn-safe in a kernel with threads,
    and it does not re-import the kernel's ``__main__`` (multiprocessing's spawn and forkserver run a
    script's unguarded top level again in each worker); bodies travel by value instead."""

    def __init__(self) -> None:
        import subprocess
        from multiprocessing.connection import Connection

        if not sys.executable:
            raise IsolatedCheckpointError("isolated checkpoints need sys.executable to start worker processes")
        calls_r, calls_w = os.pipe()
        replies_r, replies_w = os.pipe()
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        code = (
            f"import sys; sys.path.insert(0, {root!r}); from kitaru_nb.runtime.isolated import _main; "
            "_main(int(sys.argv[1]), int(sys.argv[2]))"
        )
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter running our worker
                [sys.executable, "-c", code, str(calls_r), str(replies_w)],
                pass_fds=(calls_r, replies_w),
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        except BaseException:
            for fd in (calls_w, replies_r):
                os.close(fd)
            raise
        finally:
            os.close(calls_r)
            os.close(replies_w)
        self.outbox = Connection(calls_w, readable=False)
        self.inbox = Connection(replies_r, writable=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def exitcode(self) -> int | None:
        self._join(5)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self._join(5)
        self.close()

    def _join(self, timeout: float) -> None:
        import subprocess

        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


class _SpawnWorker(_Worker):
    """Where pipes cannot be handed to a subprocess (Windows): multiprocessing's spawn."""

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        here, there = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(there, there), name="kitaru-isolated-worker")
        self.process.start()
        there.close()
        self.inbox = self.outbox = here

    def alive(self) -> bool:
        return self.process.is_alive()

    def exitcode(self) -> int | None:
        self._join(5)
        return self.process.exitcode

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self._join(5)
        self.close()

    def _join(self, timeout: float) -> None:
        self.process.join(timeout)


def _new_worker() -> _Worker:
    return _ExecWorker() if os.name == "posix" else _SpawnWorker()


# reply tags, worker -> kernel: a chunk of the body's stdout or stderr, or the call's outcome
_OUT, _ERR, _REPLY = b"1", b"2", b"R"


class WorkerPool:
    """At most ``max_workers`` worker processes, each serving one call at a time, kept warm between
    calls. A worker that dies, or whose call was interrupted, is dropped; the next call that needs a
    worker starts a fresh one."""

    def __init__(self, max_workers: int | None = None):
        self.max_workers = max_workers or default_workers()
        self._idle: list[_Worker] = []
        self._live = 0
        self._closed = False
        self._cond = threading.Condition()

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, name: str) -> Any:
        payload = _dumps_call(fn, args, kwargs, name)
        worker = self._send(payload)
        reply = None
        try:
            reply = _receive(worker)
            if reply is None:
                code = worker.exitcode()
                message = died_message(name, code)
                raise _with_failure(
                    IsolatedWorkerDied(message, exitcode=code),
                    FailureInfo(FailureOrigin.RUNTIME, message, type_name(IsolatedWorkerDied)),
                )
        finally:
            # an interrupted call (KeyboardInterrupt here) leaves its body running: that worker ends
            self._release(worker, healthy=reply is not None)
        return _outcome(reply, name)

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()

    @property
    def workers(self) -> int:
        """Worker processes alive or starting (idle and busy)."""
        return self._live

    def _send(self, payload: bytes) -> _Worker:
        # a worker that died while idle (killed from outside) cannot take the call: use a fresh one
        for _ in range(3):
            worker = self._acquire()
            try:
                worker.outbox.send_bytes(payload)
            except OSError:
                self._release(worker, healthy=False)
                continue
            return worker
        raise IsolatedCheckpointError(
            "could not hand the call to an isolated worker process: each new worker was gone before it took it"
        )

    def _acquire(self) -> _Worker:
        dead: list[_Worker] = []
        try:
            with self._cond:
                while True:
                    while self._idle:
                        worker = self._idle.pop()
                        if worker.alive():
                            return worker
                        self._live -= 1
                        dead.append(worker)
                    if self._live < self.max_workers:
                        self._live += 1
                        break
                    self._cond.wait()
        finally:
            for worker in dead:
                worker.kill()
        try:
            return _new_worker()
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        with self._cond:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._live -= 1
            self._cond.notify()
        if not keep:
            if healthy:
                worker.stop()
            else:
                worker.kill()


def _receive(worker: _Worker) -> bytes | None:
    """The outcome of the call the worker runs (its prints written here as they come), or None when
    the worker died first."""
    from multiprocessing.connection import wait

    while True:
        # a body may hand the pipe to a child of its own, so the end of the pipe alone is not proof
        if not wait([worker.inbox], timeout=0.25):
            if not worker.alive():
                return None
            continue
        try:
            msg = worker.inbox.recv_bytes()
        except (EOFError, OSError):
            return None
        tag, body = msg[:1], msg[1:]
        if tag == _REPLY:
            return body
        stream = sys.stdout if tag == _OUT else sys.stderr
        try:
            stream.write(body.decode("utf-8", "replace"))
            stream.flush()
        except Exception:  # a closed or odd stream must not lose the call's outcome
            pass


def died_message(name: str, code: int | None) -> str:
    """What the attempt of a checkpoint whose worker died records, and what to do about it."""
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        how = f"exit code {code}, {sig}"
        if sig == "SIGKILL":
            cause = "it was killed, often by the out-of-memory killer when the body uses too much memory"
        elif sig in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"):
            cause = "a crash in native code (a C extension, ctypes, a library built for another CPU)"
        else:
            cause = f"it received {sig}"
    elif code is None:
        how, cause = "exit code unknown", "it ended without a reply"
    else:
        how, cause = f"exit code {code}", "the body ended the process (os._exit, or a library that exits)"
    return (
        f"the isolated worker running checkpoint {name!r} died ({how}) before the body returned: {cause}. "
        "The kernel is unaffected and the next call starts a fresh worker: fix the cause and Retry, or give the "
        "checkpoint retries=N to try again on its own."
    )


# -- what crosses the boundary ----------------------------------------------------------------


def _dumps_call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> bytes:

    try:
        cwd: str | None = os.getcwd()
    except OSError:  # the working folder was removed
        cwd = None
    try:
        return _dumps((fn, args, kwargs, name, cwd, tuple(sys.path)))
    except Exception as exc:
        message = (
            f'checkpoint {name!r} (runtime="isolated") cannot be sent to its worker process: {type_name(exc)}: '
            f"{exc}. Its function, its arguments and the globals it uses must pickle (cloudpickle): pass plain data "
            'or a path instead of open files, connections, locks or threads, or make it runtime="inline".'
        )
        raise _with_failure(
            IsolatedCheckpointError(message),
            FailureInfo(FailureOrigin.RUNTIME, message, type_name(exc), format_traceback(exc)),
        ) from exc


def _dumps(obj: Any) -> bytes:
    """cloudpickle, keeping the file names of code sent by value (cloudpickle writes "<dynamic-code>"),
    so a worker's traceback shows the body's lines and names the notebook cell they came from. The
    worker runs this very interpreter, so marshal's format for code objects is the same there."""
    global _pickler
    if _pickler is None:
        import cloudpickle

        class Pickler(cloudpickle.Pickler):  # type: ignore[misc]
            dispatch_table = ChainMap({types.CodeType: _reduce_code}, cloudpickle.Pickler.dispatch_table)

        _pickler = Pickler
    buf = io.BytesIO()
    _pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


_pickler: Any = None


def _reduce_code(code: types.CodeType) -> tuple[Any, ...]:
    return marshal.loads, (marshal.dumps(code),)


_FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in ')


def name_cells(text: str) -> str:
    """A traceback text formatted in a worker, as the kernel would have written it: source lines the
    worker could not read (a notebook cell's code lives in the kernel's line cache) filled in, and
    notebook cells named as IPython names them (``Cell In[3], line 12``)."""
    import linecache

    cells = cell_numbers()
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for i, line in enumerate(lines):
        m = _FRAME.match(line)
        if m is None:
            out.append(line)
            continue
        filename, lineno = m.group(1), int(m.group(2))
        n = cells.get(filename)
        out.append(line if n is None else line.replace(f'File "{filename}", line', f"Cell In[{n}], line", 1))
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not following.startswith("    "):
            source = linecache.getline(filename, lineno).strip()
            if source:
                out.append(f"    {source}\n")
    return "".join(out)


def _outcome(reply: bytes, name: str) -> Any:
    import cloudpickle

    kind, *rest = pickle.loads(reply)  # our own worker's reply
    if kind in ("ok", "raised", "unpicklable"):  # what the body saved and logged, journaled here
        from kitaru_nb.artifacts import apply_records

        *rest, records = rest
        apply_records(records)
    if kind == "ok":
        try:
            return cloudpickle.loads(rest[0])
        except Exception as exc:
            message = (
                f"checkpoint {name!r} returned a value its worker could send but this process cannot load: "
                f"{type_name(exc)}: {exc}"
            )
            raise _with_failure(
                IsolatedCheckpointError(message), FailureInfo(FailureOrigin.RUNTIME, message, type_name(exc))
            ) from exc
    if kind == "raised":
        blob, exc_type, message, tb = rest
        tb = name_cells(tb)
        err: BaseException | None = None
        if blob is not None:
            try:
                loaded = cloudpickle.loads(blob)
            except Exception:
                loaded = None
            err = loaded if isinstance(loaded, BaseException) else None
        if err is not None:  # the kernel's own class (a class sent by value comes back as itself)
            exc_type = type_name(err)
        else:
            err = IsolatedBodyError(
                f"{exc_type}: {message} (raised in the isolated worker of checkpoint {name!r}; the exception "
                "does not pickle, so it is given here by type, message and traceback)",
                exception_type=exc_type,
                traceback=tb,
            )
        _with_failure(err, FailureInfo(FailureOrigin.USER_CODE, message, exc_type, tb))
        raise err from RemoteTraceback(tb)
    if kind == "unpicklable":
        value_type, problem = rest
        message = (
            f'checkpoint {name!r} (runtime="isolated") returned a {value_type} that cannot be sent back from its '
            f"worker process: {problem}. Return plain data (numbers, str, lists, dicts, arrays, dataframes, "
            'models), or write it to a file and return the path, or make the checkpoint runtime="inline".'
        )
        raise _with_failure(IsolatedCheckpointError(message), FailureInfo(FailureOrigin.RUNTIME, message, value_type))
    (problem,) = rest
    message = (
        f'checkpoint {name!r} (runtime="isolated") could not be loaded in its worker process: {problem}. A function '
        "imported from a module must be importable there too (the worker uses the kernel's sys.path and folder)."
    )
    raise _with_failure(IsolatedCheckpointError(message), FailureInfo(FailureOrigin.RUNTIME, message, "ImportError"))


# -- the worker side ------------------------------------------------------------------------------


class _IsolatedBody(Recorder):
    """What ``current_run`` holds while an isolated body runs in its worker. ``kitaru.save`` and
    ``kitaru.log`` are recorded and journaled by the kernel with the body's outcome; the rest of the
    flow's context (its journal, its positions) stays in the kernel, so any other use of it (a
    checkpoint call, ``.submit``, ``wait()``, ``kitaru.load``) raises KitaruContextError saying so,
    rather than acting as if outside a flow."""

    def __init__(self, name: str):
        super().__init__()
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise KitaruContextError(
            f'checkpoint {self._name!r} runs with runtime="isolated" in a worker process, where kitaru_nb\'s flow '
            "context is not available yet: calling checkpoints, .submit / .map, wait() and kitaru.load work in "
            "the flow body and in inline checkpoints only (kitaru.save and kitaru.log work here too). Call it from the flow body (return what it needs from "
            'this checkpoint), or make this checkpoint runtime="inline".'
        )


def _main(calls_fd: int, replies_fd: int) -> None:
    """A worker started by ``_ExecWorker``: serve calls on the two pipes it was handed."""
    from multiprocessing.connection import Connection

    _serve(Connection(calls_fd, writable=False), Connection(replies_fd, readable=False))


def _serve(inbox: Connection, outbox: Connection) -> None:
    """A worker's loop: one call at a time until the kernel says stop (an empty message) or goes away."""
    # the kernel interrupts a call by ending its worker; Jupyter signals the kernel's whole process group
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            data = inbox.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        out, err = _Forward(outbox, _OUT, 1), _Forward(outbox, _ERR, 2)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            reply = _call(data)
        finally:
            sys.stdout, sys.stderr = saved
            out.flush()
            err.flush()
        try:
            outbox.send_bytes(_REPLY + reply)
        except (EOFError, OSError):
            return


class _Forward(io.TextIOBase):
    """The body's ``sys.stdout`` / ``sys.stderr`` in the worker: whole lines go to the kernel, which
    writes them where the flow's own prints go (the cell that ran it)."""

    def __init__(self, conn: Connection, tag: bytes, fd: int):
        self._conn = conn
        self._tag = tag
        self._fd = fd
        self._parts: list[str] = []
        self._size = 0

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        """The worker's own stream (what C code and subprocesses write to: the kernel's terminal)."""
        return self._fd

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if "\n" in text or self._size > 8192:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            text, self._parts, self._size = "".join(self._parts), [], 0
            try:
                self._conn.send_bytes(self._tag + text.encode("utf-8", "replace"))
            except (EOFError, OSError):
                pass


def _call(data: bytes) -> bytes:
    import cloudpickle

    try:
        fn, args, kwargs, name, cwd, path = cloudpickle.loads(data)
    except BaseException as exc:
        return pickle.dumps(("unloadable", f"{type_name(exc)}: {exc}"))
    _follow(cwd, path)
    body = _IsolatedBody(name)
    token = current_run.set(cast(Any, body))
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # SystemExit included: the body's outcome, not the worker's
        return _raised(exc, body.records)
    finally:
        current_run.reset(token)
    try:
        return pickle.dumps(("ok", _dumps(value), body.records))
    except Exception as exc:
        return pickle.dumps(("unpicklable", type_name(value), f"{type_name(exc)}: {exc}", body.records))


def _raised(exc: BaseException, records: list[tuple[Any, ...]]) -> bytes:

    try:
        message = str(exc)
    except Exception:
        message = f"<{type_name(exc)} whose str() failed>"
    try:
        tb = format_traceback(exc)
    except Exception:  # pragma: no cover - a traceback that cannot be formatted
        tb = f"{type_name(exc)}: {message}\n"
    try:
        blob: bytes | None = _dumps(exc)
    except Exception:
        blob = None
    return pickle.dumps(("raised", blob, type_name(exc), message, tb, records))


def _follow(cwd: str | None, path: tuple[str, ...]) -> None:
    """Take the kernel's working folder and import path (a notebook may have changed them)."""
    if cwd is not None:
        try:
            if os.getcwd() != cwd:
                os.chdir(cwd)
        except OSError:
            pass
    if tuple(sys.path) != path:
        sys.path[:] = list(path)
