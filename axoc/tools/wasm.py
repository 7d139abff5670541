"""WASM tools: a `tools[]` entry of kind `wasm` run in a wasmtime sandbox.

In: a `ToolSpec` and the directory its `module` path is relative to (the config's); the module
is a WebAssembly binary, or WAT text when its name ends in `.wat` (compiled with `wat2wasm`
when it is loaded). Out: a `Tool` whose `run(arguments)` runs the module's WASI `_start` once
per call.

The ABI (docs/tools.md, "WASM tools"): the arguments, already checked against `parameters`,
are the module's stdin as one JSON document; its stdout must be one JSON document, at most
`OUTPUT_CAP` bytes (over the cap is an error, never a truncated success); exit code 0 (returning
from `_start`, or `proc_exit(0)`) is success, anything else an error. argv is `[tool id]`; there
is no environment, no preopened directory and no socket, so the module reaches nothing outside
its own memory.

Guarantees: each call has its own store with the spec's fuel, memory (store limits) and
wall-clock (epoch deadline, ticked by one shared timer thread while calls are in flight)
limits, and tables of at most `TABLE_ELEMENTS` entries; a trap, an exhausted limit, a non-zero
exit or bad output is a `ToolResult` with `is_error=True` naming what happened, never an
exception out of `run`. Calls run in worker threads kept between calls (wasmtime releases the
GIL while wasm runs), one per call in flight, so a spinning module blocks neither the event loop
nor other calls. A module is compiled
once per process: compiled modules are cached by resolved path, mtime and size. A cancelled
`run` (the agent's own timeout) leaves its thread to end at the call's limits; its result is
dropped. `wasmtime` is imported only when a WASM tool is loaded.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axoc.kernel.ports import ToolDefinition, ToolResult
from axoc.kernel.table import ToolSpec
from axoc.tools.base import Tool

if TYPE_CHECKING:
    import wasmtime

OUTPUT_CAP = 1 << 20  # bytes of stdout a call may write; more is an error
STDERR_KEPT = 2048  # bytes of stderr quoted in an error message
TABLE_ELEMENTS = 100_000  # entries a table may grow to: a table bomb allocates host memory
TICK_MS = 5  # the epoch timer's period: wall-clock limits are kept to within one tick
MIB = 1 << 20
PAGE = 1 << 16


class WasmError(Exception):
    """A WASM tool that cannot be loaded: its module is missing, unreadable or does not
    compile. The message names the tool and the path."""


def load(spec: ToolSpec, base_dir: Path) -> Tool:
    """The tool `spec` describes, its module compiled (or taken from the cache) now.
    Raises `WasmError` when the module is missing or does not compile."""
    module = compiled(spec.id, base_dir / spec.module)
    definition = ToolDefinition(spec.id, spec.description, spec.parameters)
    limits = spec.limits
    call = _Call(
        spec.id, module, limits.fuel, limits.memory_mb * MIB, limits.timeout_ms, _prepared(module)
    )

    async def run(arguments: Mapping[str, Any]) -> ToolResult:
        try:
            stdin = json.dumps(arguments, ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            return ToolResult(f"tool '{spec.id}': arguments are not JSON: {exc}", is_error=True)
        return await _get_runtime().workers.run(call, stdin)

    return Tool(definition, run)


# --- the engine and the module cache (one per process) ----------------------------------------


@dataclass
class _Runtime:
    engine: wasmtime.Engine
    linker: wasmtime.Linker
    ticker: _Ticker
    workers: _Workers
    modules: dict[tuple[str, int, int], wasmtime.Module] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def _get_runtime() -> _Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            import wasmtime

            config = wasmtime.Config()
            config.consume_fuel = True
            config.epoch_interruption = True
            engine = wasmtime.Engine(config)
            linker = wasmtime.Linker(engine)
            linker.define_wasi()
            _runtime = _Runtime(engine, linker, _Ticker(engine), _Workers())
        return _runtime


def engine() -> wasmtime.Engine:
    """The process's engine (fuel and epoch interruption on): modules must be compiled or
    validated with it to run in it."""
    return _get_runtime().engine


def compiled(tool_id: str, path: Path) -> wasmtime.Module:
    """The compiled module at `path`, from the process's cache when the file has not changed
    (same resolved path, mtime and size). Raises `WasmError`."""
    import wasmtime

    runtime = _get_runtime()
    try:
        resolved = path.resolve()
        stat = resolved.stat()
        key = (str(resolved), stat.st_mtime_ns, stat.st_size)
        with runtime.lock:
            module = runtime.modules.get(key)
        if module is not None:
            return module
        data = resolved.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WasmError(f"tool '{tool_id}': cannot read module {path}: {reason}") from None
    try:
        module = wasmtime.Module(runtime.engine, binary(data, path))
    except wasmtime.WasmtimeError as exc:
        reason = cause(str(exc))
        raise WasmError(f"tool '{tool_id}': module {path} does not compile: {reason}") from None
    with runtime.lock:
        runtime.modules[key] = module
    return module


def binary(data: bytes, path: Path) -> bytes:
    """The WebAssembly binary of a module file: a `.wat` file is the text format, compiled with
    wasmtime's `wat2wasm`; any other file must be a binary module already (never read as text:
    a stray file gets "bad magic number", not a WAT syntax error). Raises
    `wasmtime.WasmtimeError`."""
    import wasmtime

    if path.suffix.lower() == ".wat":
        return bytes(wasmtime.wat2wasm(data.decode("utf-8", "replace")))
    if not data.startswith(b"\0asm"):
        wasmtime.Module.validate(engine(), data)  # raises, with wasmtime's own words
    return data


def _prepared(module: wasmtime.Module) -> wasmtime.InstancePre | None:
    """The module with its imports resolved against the WASI linker once (an `InstancePre`):
    each call then instantiates it in its own fresh store without resolving them again. None
    when an import does not resolve: each call then fails to start, saying which."""
    import wasmtime

    runtime = _get_runtime()
    try:
        return runtime.linker.instantiate_pre(module)
    except (wasmtime.WasmtimeError, AttributeError):  # AttributeError: a wasmtime without it
        return None


def _export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> Any:
    """The export `name` of `instance`, or None.

    Hot spot: `instance.exports(store)` wraps every export of the module to find one (48 µs
    of a 440 µs call with examples/tools/echo.wat, more for modules with many exports);
    wasmtime's C API looks one up by name (`wasmtime_instance_export_get`, in wasmtime-py's
    generated bindings). Used when the bindings have it, `exports` otherwise."""
    import ctypes

    try:
        from wasmtime import _ffi as ffi
        from wasmtime._extern import wrap_extern

        context = store._context()
        raw = instance._instance
        item = ffi.wasmtime_extern_t()
    except (ImportError, AttributeError):
        return instance.exports(store).get(name)
    key = name.encode()
    found = ffi.wasmtime_instance_export_get(
        context, ctypes.byref(raw), ctypes.c_char_p(key), len(key), ctypes.byref(item)
    )
    return wrap_extern(item) if found else None


class _Ticker:
    """Increments the engine's epoch every `TICK_MS` while at least one call is in flight;
    the thread sleeps on a condition otherwise (no wake-ups when no tool runs)."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._active = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> None:
        with self._cond:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="axoc-wasm-epoch")
                self._thread.daemon = True
                self._thread.start()
            self._cond.notify()

    def __exit__(self, *_: object) -> None:
        with self._cond:
            self._active -= 1

    def _loop(self) -> None:
        period = TICK_MS / 1000
        while True:
            with self._cond:
                while self._active == 0:
                    self._cond.wait()
            time.sleep(period)
            self._engine.increment_epoch()


class _Workers:
    """The threads calls run in, kept between calls.

    Hot spot: `asyncio.to_thread` costs a thread-pool hand-off each way (a work queue, a
    contextvars copy, the pool's own bookkeeping); a worker waiting on its own queue and handing
    the result back with `call_soon_threadsafe` costs one wake-up each way (measured on the
    shared 2-core machine: an empty hop 143 µs through `to_thread`, 94 µs here). A call takes an
    idle worker or starts a new one, so calls never wait for each other: as many run at once as
    are in flight. A worker idle for `IDLE_S` seconds ends. Workers are daemon threads: a
    module still spinning when the process exits (its call cancelled) does not hold it up."""

    IDLE_S = 60.0

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    async def run(self, call: _Call, stdin: bytes) -> ToolResult:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[ToolResult] = loop.create_future()
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self)
        worker.inbox.put((loop, done, call, stdin))
        return await done

    def rest(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """Whether the idle `worker` may end: it is idle, and now no call can take it."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False  # a call took it just now: its work is on the way


class _Worker:
    def __init__(self, workers: _Workers) -> None:
        self.inbox: queue.SimpleQueue[
            tuple[asyncio.AbstractEventLoop, asyncio.Future[ToolResult], _Call, bytes]
        ] = queue.SimpleQueue()
        self._workers = workers
        thread = threading.Thread(target=self._serve, name="axoc-wasm-call", daemon=True)
        thread.start()

    def _serve(self) -> None:
        while True:
            try:
                loop, done, call, stdin = self.inbox.get(timeout=self._workers.IDLE_S)
            except queue.Empty:
                if self._workers.retire(self):
                    return
                continue
            result = call.run(stdin)  # never raises
            # idle again before the result is handed back: the caller's next call finds this
            # worker (its work waits in the inbox until this loop comes round)
            self._workers.rest(self)
            with suppress(RuntimeError):  # the loop is closed: nobody waits for this result
                loop.call_soon_threadsafe(_settle, done, result)
            del loop, done, call, stdin


def _settle(done: asyncio.Future[ToolResult], result: ToolResult) -> None:
    if not done.done():  # a cancelled call's result is dropped
        done.set_result(result)


# --- one call ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    tool: str
    module: wasmtime.Module
    fuel: int
    memory_bytes: int
    timeout_ms: int
    pre: wasmtime.InstancePre | None = None  # the module's imports resolved (`_prepared`)

    def run(self, stdin: bytes) -> ToolResult:
        """One sandboxed run of the module on `stdin` (in a worker thread)."""
        try:
            return self._run(stdin)
        except Exception as exc:  # the model sees any failure; the run goes on
            return self._error(f"failed: {type(exc).__name__}: {exc}")

    def _run(self, stdin: bytes) -> ToolResult:
        import wasmtime

        runtime = _get_runtime()
        out = _Capture(OUTPUT_CAP)
        err = _Capture(STDERR_KEPT)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [self.tool]
        wasi.stdout_custom = out.write
        wasi.stderr_custom = err.write
        store = wasmtime.Store(runtime.engine)
        store.set_limits(memory_size=self.memory_bytes, table_elements=TABLE_ELEMENTS)
        store.set_fuel(self.fuel)
        store.set_epoch_deadline(math.ceil(self.timeout_ms / TICK_MS) + 1)
        _set_stdin(wasi, stdin)
        store.set_wasi(wasi)
        with runtime.ticker:
            failure = self._start(store, runtime.linker)
        if failure is not None:
            return self._error(failure + err.quoted())
        if out.over:
            return self._error(
                f"wrote more than {OUTPUT_CAP} bytes on stdout (the cap): output discarded"
            )
        try:
            result = json.loads(out.data().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return self._error(f"wrote output that is not JSON: {exc}{err.quoted()}")
        return ToolResult(json.dumps(result, ensure_ascii=False))

    def _start(self, store: wasmtime.Store, linker: wasmtime.Linker) -> str | None:
        """Instantiate and run `_start`; what went wrong, or None on a clean exit 0."""
        import wasmtime

        instance = None
        try:
            if self.pre is not None:
                instance = self.pre.instantiate(store)
            else:
                instance = linker.instantiate(store, self.module)
            start = _export(store, instance, "_start")
            if not isinstance(start, wasmtime.Func):
                return "has no _start function (a WASI command module is required)"
            start(store)
            return None
        except wasmtime.ExitTrap as exc:
            return None if exc.code == 0 else f"exited with code {exc.code}"
        except wasmtime.Trap as exc:
            return self._trap(exc) + self._memory_note(store, instance)
        except wasmtime.WasmtimeError as exc:
            reason = cause(str(exc))
            if instance is None:
                return f"could not start: {reason}" + self._memory_note(store, instance)
            return f"failed: {reason}" + self._memory_note(store, instance)

    def _trap(self, trap: wasmtime.Trap) -> str:
        import wasmtime

        code = trap.trap_code
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return f"ran out of fuel ({self.fuel})"
        if code == wasmtime.TrapCode.INTERRUPT:
            return f"ran past its time limit ({self.timeout_ms} ms)"
        return f"trapped: {cause(trap.message)}"

    def _memory_note(self, store: wasmtime.Store, instance: wasmtime.Instance | None) -> str:
        """Say so when the module's memory reached the limit (a failed grow is not a trap in
        wasm: a bomb sees -1 and then traps, exits or spins)."""
        import wasmtime

        limit = f" (its memory reached the limit of {self.memory_bytes // MIB} MiB)"
        if instance is None:
            if self._declares_too_much():
                return (
                    f" (it declares more memory than the limit of {self.memory_bytes // MIB} MiB)"
                )
            return ""
        memory = instance.exports(store).get("memory")
        if isinstance(memory, wasmtime.Memory) and memory.data_len(store) + PAGE > (
            self.memory_bytes
        ):
            return limit
        return ""

    def _declares_too_much(self) -> bool:
        import wasmtime

        for item in self.module.imports + self.module.exports:
            kind = item.type
            if isinstance(kind, wasmtime.MemoryType) and kind.limits.min * PAGE > (
                self.memory_bytes
            ):
                return True
        return False

    def _error(self, what: str) -> ToolResult:
        return ToolResult(f"tool '{self.tool}' {what}", is_error=True)


def cause(message: str) -> str:
    """The line that says what went wrong in a wasmtime error: the last line after "Caused
    by:" (the lines before it are a backtrace or context), else the first line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if "Caused by:" in lines:
        lines = lines[lines.index("Caused by:") + 1 :]
        return lines[-1].removeprefix("0: ") if lines else "unknown error"
    # a bad magic number is followed by two multi-line byte lists: keep the words
    return lines[0].partition(" - expected=")[0] if lines else "unknown error"


def _set_stdin(wasi: wasmtime.WasiConfig, data: bytes) -> None:
    """Give the module `data` as its stdin.

    Hot spot: wasmtime-py offers stdin only from a file, and every read of a file goes through
    a blocking-task hop in wasmtime (about half of a small call: 1.2 ms → 0.6 ms measured with
    examples/tools/echo.wat). The C API's `wasi_config_set_stdin_bytes` (an in-memory stdin)
    is in wasmtime-py's generated bindings, though not wrapped: use it when present, a file
    otherwise."""
    try:
        import ctypes

        from wasmtime import _ffi as ffi

        set_bytes = ffi.wasi_config_set_stdin_bytes
        vec = ffi.wasm_byte_vec_t()
    except (ImportError, AttributeError):
        with _stdin_file(data) as path:
            wasi.stdin_file = path  # opened now: the file may go once this returns
        return
    buffer = (ffi.wasm_byte_t * len(data)).from_buffer_copy(data)
    ffi.wasm_byte_vec_new(ctypes.byref(vec), len(data), buffer)  # a copy owned by wasmtime
    set_bytes(wasi.ptr(), ctypes.byref(vec))  # takes the copy: nothing left to free here


@contextmanager
def _stdin_file(data: bytes) -> Iterator[str]:
    """A path to read `data` from, valid inside the block: an anonymous memory file where the
    system has them (Linux), else a temporary file removed afterwards."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("axoc-wasm-stdin", os.MFD_CLOEXEC)
        try:
            os.write(fd, data) if len(data) < 65536 else _write_all(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix="axoc-wasm-", suffix=".json")
    try:
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        yield path
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Capture:
    """Bytes a module writes to one stream, kept up to `cap`; `over` once it wrote more."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._chunks: list[bytes] = []
        self._size = 0
        self.over = False

    def write(self, chunk: bytes) -> None:
        room = self._cap - self._size
        if len(chunk) > room:
            self.over = True
            chunk = chunk[: max(room, 0)]
        if chunk:
            self._chunks.append(chunk)
            self._size += len(chunk)
        # returning None tells WASI every byte was written: the rest is counted, not kept

    def data(self) -> bytes:
        return b"".join(self._chunks)

    def quoted(self) -> str:
        text = self.data().decode("utf-8", "replace").strip()
        return f"; stderr: {text}" if text else ""
