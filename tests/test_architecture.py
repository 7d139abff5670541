"""Architecture rules, each checked in a fresh interpreter.

- The kernel imports the standard library only: never the compiler or an adapter.
- `axoc check` loads none of the heavy run-time dependencies, and a clean config not even networkx.
- Running a saved plan loads no part of the compiler: not pydantic, not the YAML loader (a
  resume whose config did not change runs its saved plan: tests/test_resume_saved_plan.py);
  and a run offering no tool not jsonschema.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers import axoc

HEAVY = ("httpx", "onnxruntime", "tokenizers", "usearch", "wasmtime", "mcp", "mcp_types")


def modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_kernel_imports_nothing_of_the_compiler() -> None:
    loaded = modules_after("import axoc.kernel")
    ours = {m for m in loaded if m == "axoc" or m.startswith("axoc.")}
    assert ours <= {"axoc", "axoc.kernel"} | {m for m in ours if m.startswith("axoc.kernel.")}
    third_party = {"pydantic", "yaml", "networkx", "lark", "jsonschema", *HEAVY}
    assert not {m.split(".")[0] for m in loaded} & third_party


def test_kernel_sources_import_only_stdlib_and_the_kernel() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in (ROOT / "kernel").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in stdlib or name.startswith("axoc.kernel"), (
                    f"{path.name}:{node.lineno}: imports {name}"
                )


def test_check_loads_no_heavy_dependency() -> None:
    example = ROOT / "examples" / "research-pipeline.axoc.yaml"
    loaded = modules_after(
        f"from axoc.cli import main\nassert main(['check', {str(example)!r}]) == 0"
    )
    tops = {m.split(".")[0] for m in loaded}
    assert not tops & set(HEAVY)
    assert "networkx" not in tops, "a clean check should not pay for networkx"
    assert "lark" not in tops, "a config without activation expressions should not load lark"
    assert "axoc.kernel.ports" not in loaded, "checking runs nothing: no provider port"


def test_activation_expressions_load_lark() -> None:
    example = ROOT / "examples" / "quorum.axoc.yaml"
    loaded = modules_after(
        f"from axoc.cli import main\nassert main(['check', {str(example)!r}]) == 0"
    )
    assert "lark" in {m.split(".")[0] for m in loaded}


def test_a_cycle_report_uses_networkx(tmp_path: object) -> None:
    loaded = modules_after(
        "from axoc.cli import main\nimport tempfile, os\n"
        "d = tempfile.mkdtemp(); p = os.path.join(d, 'c.axoc.yaml')\n"
        "open(p, 'w').write('agents:\\n  - {id: a, provider: echo, depends_on: [a]}\\n')\n"
        "assert main(['check', p]) == 1"
    )
    assert "networkx" in {m.split(".")[0] for m in loaded}


def test_a_saved_plan_runs_without_the_compiler(tmp_path: Path) -> None:
    plan, state = tmp_path / "plan.json", tmp_path / "state"
    example = ROOT / "examples" / "hello-world.axoc.yaml"
    assert axoc("plan", str(example), "--format", "json", "-o", str(plan)).code == 0
    loaded = modules_after(
        "from axoc.cli import main\n"
        f"assert main(['run', {str(plan)!r}, '--dry-run', '--state-dir', {str(state)!r}]) == 0"
    )
    tops = {m.split(".")[0] for m in loaded}
    assert not tops & {"pydantic", "pydantic_core", "yaml", "lark", "networkx", *HEAVY}
    assert not {"axoc.pipeline", "axoc.config", "axoc.yamlload"} & loaded
    assert "jsonschema" not in tops, "a run offering no tool should not load jsonschema"
