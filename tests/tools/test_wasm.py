"""WASM tools in a real wasmtime sandbox: a working tool, and hostile modules (a spin stopped by
fuel and by the deadline, a memory bomb, file and environment access, output over the cap,
malformed output, a trap, a non-zero exit), each followed by a good call that still works; two
concurrent calls that do not block each other; the module cache; load errors.

Every module is WAT compiled at test time with `wasmtime.wat2wasm`; nothing is mocked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from axoc.kernel.ports import ToolResult
from axoc.kernel.table import ToolLimits, ToolSpec
from axoc.tools import wasm
from axoc.tools.base import Tool

ROOT = Path(__file__).resolve().parents[2]
ECHO_WAT = (ROOT / "examples" / "tools" / "echo.wat").read_text()

WASI = """
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
"""


def module(body: str, imports: str = "") -> str:
    return f"(module {imports} {WASI} {body})"


SPIN = module('(func (export "_start") (loop $l (br $l)))')
TRAP = module('(func (export "_start") unreachable)')
EXIT_3 = module('(func (export "_start") (call $proc_exit (i32.const 3)))')
NOT_JSON = module(
    '(data (i32.const 100) "this is not json")'
    '(func (export "_start") (call $write (i32.const 100) (i32.const 16)))'
)
# 20 writes of 64 KiB: 1.25 MiB, over the 1 MiB cap
FLOOD = (
    module(
        '(memory $m 0) (func (export "_start") (local $i i32)'
        "  (memory.fill (i32.const 16) (i32.const 32) (i32.const 65000))"
        "  (loop $l (call $write (i32.const 16) (i32.const 65536))"
        "    (local.set $i (i32.add (local.get $i) (i32.const 1)))"
        "    (br_if $l (i32.lt_u (local.get $i) (i32.const 20)))))"
    )
    .replace('(memory (export "memory") 1)', '(memory (export "memory") 2)')
    .replace("(memory $m 0) ", "")
)
# grows its memory one page at a time until refused, then aborts (as an allocator would)
BOMB = module(
    '(func (export "_start")'
    "  (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))"
    "  unreachable)"
)
# grows a table far past TABLE_ELEMENTS: refused (-1), which it reports as {"refused": 1}
TABLE_BOMB = module(
    "(table $t 1 funcref)"
    '(data (i32.const 100) "{\\"refused\\": 0}")'
    '(func (export "_start")'
    "  (if (i32.eq (table.grow $t (ref.null func) (i32.const 50000000)) (i32.const -1))"
    "    (then (i32.store8 (i32.const 112) (i32.const 49))))"
    "  (call $write (i32.const 100) (i32.const 14)))"
)
# a memory declared larger than the limit: refused when instantiated
BIG = module('(func (export "_start"))').replace(
    '(memory (export "memory") 1)', '(memory (export "memory") 100)'
)
# Tries to open /etc/passwd relative to fd 3 (the first preopen, if any) and asks whether fd 3
# is a preopened directory; writes {"opened": 0|1, "preopen": 0|1}.
OPEN_FILE = module(
    '(data (i32.const 100) "/etc/passwd")'
    '(data (i32.const 200) "{\\"opened\\": 0, \\"preopen\\": 0}")'
    '(func (export "_start")'
    "  (if (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 11)"
    "        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 300)))"
    "    (then (i32.store8 (i32.const 211) (i32.const 49))))"
    "  (if (i32.eqz (call $fd_prestat_get (i32.const 3) (i32.const 400)))"
    "    (then (i32.store8 (i32.const 225) (i32.const 49))))"
    "  (call $write (i32.const 200) (i32.const 27)))",
    imports='(import "wasi_snapshot_preview1" "path_open" (func $path_open'
    " (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"
    '(import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get'
    " (param i32 i32) (result i32)))",
)
# Counts its environment variables and arguments: writes {"env": 0|1, "argc": N} (N one digit)
ENVIRON = module(
    '(data (i32.const 200) "{\\"env\\": 0, \\"argc\\": 0}")'
    '(func (export "_start")'
    "  (drop (call $environ_sizes_get (i32.const 300) (i32.const 304)))"
    "  (if (i32.load (i32.const 300)) (then (i32.store8 (i32.const 208) (i32.const 49))))"
    "  (drop (call $args_sizes_get (i32.const 308) (i32.const 312)))"
    "  (i32.store8 (i32.const 219) (i32.add (i32.const 48) (i32.load (i32.const 308))))"
    "  (call $write (i32.const 200) (i32.const 21)))",
    imports='(import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get'
    " (param i32 i32) (result i32)))"
    '(import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get'
    " (param i32 i32) (result i32)))",
)

LIMITS = ToolLimits(fuel=100_000_000, memory_mb=4, timeout_ms=5000)


def tool(tmp_path: Path, name: str, wat: str, limits: ToolLimits = LIMITS) -> Tool:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    spec = ToolSpec(name, "wasm", path.name, f"the {name} tool", {"type": "object"}, limits)
    return wasm.load(spec, tmp_path)


def call(t: Tool, arguments: dict[str, Any] | None = None) -> tuple[ToolResult, float]:
    start = time.perf_counter()
    result = asyncio.run(t.run(arguments or {}))
    return result, time.perf_counter() - start


def assert_echo_works(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "echo", ECHO_WAT), {"text": "still here", "n": [1, 2]})
    assert result == ToolResult('{"echo": {"text": "still here", "n": [1, 2]}}')


def test_a_tool_reads_json_arguments_on_stdin_and_answers_json_on_stdout(tmp_path: Path) -> None:
    arguments = {"text": "héllo", "nested": {"list": [1, 2.5, None, True]}}
    result, _ = call(tool(tmp_path, "echo", ECHO_WAT), arguments)
    assert not result.is_error
    assert json.loads(result.content) == {"echo": arguments}
    big = {"text": "x" * 300_000}  # more than one read of stdin
    result, _ = call(tool(tmp_path, "echo", ECHO_WAT), big)
    assert json.loads(result.content) == {"echo": big}


def test_a_spin_is_stopped_by_fuel_within_its_limit(tmp_path: Path) -> None:
    limits = ToolLimits(fuel=5_000_000, memory_mb=4, timeout_ms=60_000)
    result, elapsed = call(tool(tmp_path, "spin", SPIN, limits))
    assert result == ToolResult("tool 'spin' ran out of fuel (5000000)", is_error=True)
    assert elapsed < 5  # the 60 s deadline played no part
    assert_echo_works(tmp_path)


def test_a_spin_with_huge_fuel_is_stopped_by_the_deadline(tmp_path: Path) -> None:
    limits = ToolLimits(fuel=10**18, memory_mb=4, timeout_ms=300)
    result, elapsed = call(tool(tmp_path, "spin", SPIN, limits))
    assert result == ToolResult("tool 'spin' ran past its time limit (300 ms)", is_error=True)
    assert 0.3 <= elapsed < 1.5, elapsed
    assert_echo_works(tmp_path)


def test_a_memory_bomb_is_stopped_at_the_memory_limit(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "bomb", BOMB))
    assert result.is_error
    assert result.content.startswith("tool 'bomb' trapped: ")
    assert result.content.endswith("(its memory reached the limit of 4 MiB)")
    result, _ = call(tool(tmp_path, "big", BIG))
    assert result.is_error
    assert result.content.startswith("tool 'big' could not start: ")
    assert result.content.endswith("(it declares more memory than the limit of 4 MiB)")
    assert_echo_works(tmp_path)


def test_a_table_bomb_is_refused(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "tables", TABLE_BOMB))
    assert result == ToolResult('{"refused": 1}')


def test_a_module_cannot_open_a_file(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "open", OPEN_FILE))
    assert result == ToolResult('{"opened": 0, "preopen": 0}')
    assert_echo_works(tmp_path)


def test_a_module_sees_no_environment_and_only_its_name_as_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AXOC_WASM_TEST_SECRET", "sk-not-for-wasm")
    result, _ = call(tool(tmp_path, "environ", ENVIRON))
    assert result == ToolResult('{"env": 0, "argc": 1}')
    assert_echo_works(tmp_path)


def test_output_over_the_cap_is_an_error_not_a_truncated_success(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "flood", FLOOD))
    assert result == ToolResult(
        f"tool 'flood' wrote more than {wasm.OUTPUT_CAP} bytes on stdout (the cap): output discarded",
        is_error=True,
    )
    assert_echo_works(tmp_path)


def test_malformed_json_output_is_an_error(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "garbled", NOT_JSON))
    assert result.is_error
    assert result.content.startswith("tool 'garbled' wrote output that is not JSON: ")
    assert_echo_works(tmp_path)


def test_a_trap_and_a_non_zero_exit_are_errors(tmp_path: Path) -> None:
    result, _ = call(tool(tmp_path, "trap", TRAP))
    assert result.is_error
    assert result.content.startswith("tool 'trap' trapped: ")
    assert "unreachable" in result.content
    assert_echo_works(tmp_path)
    result, _ = call(tool(tmp_path, "exit3", EXIT_3))
    assert result == ToolResult("tool 'exit3' exited with code 3", is_error=True)
    assert_echo_works(tmp_path)


def test_a_spinning_call_blocks_neither_another_call_nor_the_event_loop(tmp_path: Path) -> None:
    spin = tool(tmp_path, "spin", SPIN, ToolLimits(fuel=10**18, memory_mb=4, timeout_ms=2000))
    echo = tool(tmp_path, "echo", ECHO_WAT)

    async def main() -> tuple[float, float, int, ToolResult, ToolResult]:
        start = time.perf_counter()
        spinning = asyncio.create_task(spin.run({}))
        await asyncio.sleep(0.05)  # the spin is running in its thread
        good = await echo.run({"k": 1})
        good_done = time.perf_counter() - start
        ticks = 0
        while not spinning.done():  # the loop keeps turning while the module spins
            await asyncio.sleep(0.01)
            ticks += 1
        return good_done, time.perf_counter() - start, ticks, good, spinning.result()

    good_done, spin_done, ticks, good, spun = asyncio.run(main())
    assert good == ToolResult('{"echo": {"k": 1}}')
    assert spun == ToolResult("tool 'spin' ran past its time limit (2000 ms)", is_error=True)
    assert good_done < 1.0 < 2.0 <= spin_done < 3.5, (good_done, spin_done)
    assert ticks > 20


def test_modules_are_compiled_once_and_recompiled_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "echo.wasm"
    path.write_bytes(wasmtime.wat2wasm(ECHO_WAT))
    first = wasm.compiled("echo", path)
    assert wasm.compiled("echo", path) is first
    path.write_bytes(wasmtime.wat2wasm(TRAP))
    assert wasm.compiled("echo", path) is not first


def test_a_missing_or_broken_module_is_a_wasm_error(tmp_path: Path) -> None:
    spec = ToolSpec("gone", "wasm", "gone.wasm", "", {"type": "object"}, LIMITS)
    with pytest.raises(wasm.WasmError, match=r"^tool 'gone': cannot read module .*gone\.wasm"):
        wasm.load(spec, tmp_path)
    (tmp_path / "gone.wasm").write_bytes(b"\0asm not really")
    with pytest.raises(
        wasm.WasmError, match=r"^tool 'gone': module .*gone\.wasm does not compile: "
    ):
        wasm.load(spec, tmp_path)


# --- axoc check ---------------------------------------------------------------------------------

CONFIG = """\
agents:
  - {id: a, provider: echo, tools: [echo]}
workflows:
  - {id: w, agents: [a]}
tools:
  - {id: echo, module: tools/echo.wasm, parameters: {type: object}}
"""


def test_check_accepts_a_valid_module_and_names_a_broken_one(tmp_path: Path) -> None:
    from axoc.pipeline import compile_file

    config = tmp_path / "c.axoc.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "tools").mkdir()
    module = tmp_path / "tools" / "echo.wasm"
    module.write_bytes(wasmtime.wat2wasm(ECHO_WAT))
    assert [d for d in compile_file(str(config), {}).diagnostics if d.code == "AX407"] == []
    module.write_bytes(wasmtime.wat2wasm(ECHO_WAT)[:-3])  # cut short
    found = [d for d in compile_file(str(config), {}).diagnostics if d.code == "AX407"]
    assert [d.message.split(": ")[0] for d in found] == [
        "module 'tools/echo.wasm' of tool 'echo' is not a valid WebAssembly module"
    ]


def test_checking_a_config_without_tools_does_not_import_wasmtime(tmp_path: Path) -> None:
    config = tmp_path / "c.axoc.yaml"
    config.write_text(CONFIG.split("tools:\n  - {id: echo")[0].replace(", tools: [echo]", ""))
    probe = (
        "import sys, os\nfrom axoc.pipeline import compile_file\n"
        f"unit = compile_file({str(config)!r}, os.environ)\n"
        "assert unit.ok, unit.diagnostics\nprint('wasmtime' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr


def test_the_stdin_file_fallback_holds_the_arguments() -> None:
    # used when wasmtime's bindings lack an in-memory stdin
    data = json.dumps({"text": "x" * 100_000}).encode()
    with wasm._stdin_file(data) as path:
        assert Path(path).read_bytes() == data


def test_workers_are_kept_between_calls_and_a_cancelled_call_is_dropped(tmp_path: Path) -> None:
    """Calls one after another reuse one worker thread; a call cancelled while its module spins
    (the agent's own timeout) leaves that worker busy until the call's limit, the next call
    gets another worker and works, and the spun-out worker is taken again afterwards."""
    import threading

    echo = tool(tmp_path, "echo", ECHO_WAT)
    spin = tool(tmp_path, "spin", SPIN, ToolLimits(fuel=10**15, memory_mb=4, timeout_ms=300))

    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "axoc-wasm-call"}

    async def main() -> tuple[set[threading.Thread], set[threading.Thread], ToolResult]:
        for _ in range(5):
            await echo.run({"text": "warm"})
        before = workers()
        for _ in range(20):
            assert not (await echo.run({"text": "again"})).is_error
        same = workers()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(spin.run({}), 0.05)
        during = await echo.run({"text": "while it spins"})
        await asyncio.sleep(0.5)  # the spin ends at its 300 ms deadline; its result is dropped
        return before, same, during

    before, same, during = asyncio.run(main())
    assert same == before  # no new thread for sequential calls
    assert not during.is_error and json.loads(during.content) == {
        "echo": {"text": "while it spins"}
    }
