"""Editor integrations, the SchemaStore entry, the pre-commit hook and the CI docs agree.

In: the files under ``editors/``, ``.pre-commit-hooks.yaml`` and ``docs/ci.md``.
Out: assertions only.
Guaranteed when green: every JSON file under ``editors/`` and every JSON, TOML, YAML and XML
snippet fenced in those documents parses, and every place that maps config files to the schema
names exactly ``axoc.yaml``, ``*.axoc.yaml`` and ``axocoatl.yaml`` and the same names ending in
``.yml`` — the names ``axoc check`` finds in a directory.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from axoc.discover import discover

ROOT = Path(__file__).resolve().parents[1]
EDITORS = ROOT / "editors"
EDITOR_DOCS = ("neovim.md", "helix.md", "zed.md", "jetbrains.md")
SNIPPET_DOCS = [*sorted(EDITORS.rglob("*.md")), ROOT / "docs" / "ci.md"]

CONFIG_PATTERNS = {
    "axoc.yaml", "axoc.yml", "*.axoc.yaml", "*.axoc.yml", "axocoatl.yaml", "axocoatl.yml",
}  # fmt: skip
CONFIG_FILES = [
    "axoc.yaml",
    "axoc.yml",
    "axocoatl.yaml",
    "axocoatl.yml",
    "team.axoc.yaml",
    "team.axoc.yml",
    "examples/hello-world.axoc.yaml",
    "deep/dir/axoc.yaml",
    "deep/dir/axocoatl.yml",
]
NOT_CONFIG_FILES = [
    "notaxoc.yaml",
    "notaxoc.yml",
    "axoc.yml.bak",
    "axoc.yaml.bak",
    "foo.yaml",
    "foo.yml",
    "axoc.json",
    "examples/myaxoc.yaml",
    "examples/myaxoc.yml",
    "axocoatl.yaml.orig",
]
LOCAL_SCHEMA = "./schema/axoc.schema.json"
MODELINE = "# yaml-language-server: $schema="

PARSERS: dict[str, Callable[[str], Any]] = {
    "json": json.loads,
    "toml": tomllib.loads,
    "yaml": yaml.safe_load,
    "yml": yaml.safe_load,
    "xml": ET.fromstring,
}
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """(language, body) for every fenced block, with the fence's indentation removed."""
    blocks = []
    for match in FENCE.finditer(path.read_text(encoding="utf-8")):
        indent = match["indent"]
        lines = match["body"].splitlines()
        body = "\n".join(line.removeprefix(indent) for line in lines)
        blocks.append((match["lang"].lower(), body + "\n"))
    return blocks


def parsed_blocks(path: Path, lang: str) -> list[Any]:
    return [PARSERS[lang](body) for found, body in fenced_blocks(path) if found == lang]


def maps_config_files(patterns: set[str], path: str) -> bool:
    """Match as yaml-language-server does: a pattern without '/' matches the name in any folder."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def assert_covers_exactly_config_files(patterns: list[str]) -> None:
    assert set(patterns) == CONFIG_PATTERNS
    assert len(patterns) == len(CONFIG_PATTERNS), f"duplicate patterns in {patterns}"
    for path in CONFIG_FILES:
        assert maps_config_files(set(patterns), path), path
    for path in NOT_CONFIG_FILES:
        assert not maps_config_files(set(patterns), path), path


def only_schema_mapping(schemas: dict[str, Any]) -> tuple[str, list[str]]:
    assert len(schemas) == 1, schemas
    ((schema, patterns),) = schemas.items()
    return schema, patterns


# --- every JSON file and every fenced snippet parses -------------------------------------------

JSON_FILES = sorted(EDITORS.rglob("*.json"))
SNIPPETS = [
    pytest.param(lang, body, id=f"{doc.relative_to(ROOT)}#{index}-{lang}")
    for doc in SNIPPET_DOCS
    for index, (lang, body) in enumerate(fenced_blocks(doc))
    if lang in PARSERS
]


def test_the_files_under_test_exist() -> None:
    for name in EDITOR_DOCS:
        assert (EDITORS / name).is_file(), name
    assert {p.name for p in JSON_FILES} >= {"package.json", "schemastore-catalog.json"}
    assert {lang for lang, _ in (p.values[:2] for p in SNIPPETS)} >= {"json", "toml", "yaml", "xml"}


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_json_file_parses(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("lang", "body"), SNIPPETS)
def test_fenced_snippet_parses(lang: str, body: str) -> None:
    PARSERS[lang](body)


# --- VS Code extension and SchemaStore entry ----------------------------------------------------


def test_vscode_extension_contributes_the_schema_for_config_files() -> None:
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text(encoding="utf-8"))
    assert "redhat.vscode-yaml" in manifest["extensionDependencies"]
    assert manifest["publisher"] and manifest["engines"]["vscode"]
    (contribution,) = manifest["contributes"]["yamlValidation"]
    assert contribution["url"] == "./axoc.schema.json"
    assert_covers_exactly_config_files(contribution["fileMatch"])


def test_vscode_extension_version_matches_the_package() -> None:
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert manifest["version"] == pyproject["project"]["version"]


def test_vscode_generated_files_are_not_committed() -> None:
    ignored = (EDITORS / "vscode" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"axoc.schema.json", "*.vsix"} <= set(ignored)


def test_schemastore_entry_has_the_catalog_shape() -> None:
    entry = json.loads((EDITORS / "schemastore-catalog.json").read_text(encoding="utf-8"))
    assert set(entry) == {"name", "description", "fileMatch", "url"}
    assert entry["name"] and entry["description"]
    assert entry["url"].startswith("https://") and entry["url"].endswith(".json")
    assert_covers_exactly_config_files(entry["fileMatch"])


def test_schemastore_url_is_the_schema_id() -> None:
    schema_file = ROOT / "schema" / "axoc.schema.json"
    assert schema_file.is_file(), "run: axoc schema -o schema/axoc.schema.json"
    entry = json.loads((EDITORS / "schemastore-catalog.json").read_text(encoding="utf-8"))
    assert entry["url"] == json.loads(schema_file.read_text(encoding="utf-8"))["$id"]


# --- editor settings snippets map the same files to the same schema -----------------------------


def test_helix_snippet_sets_yaml_schemas_for_config_files() -> None:
    (config,) = [c for c in parsed_blocks(EDITORS / "helix.md", "toml") if "language-server" in c]
    server = config["language-server"]["yaml-language-server"]
    schema, patterns = only_schema_mapping(server["config"]["yaml"]["schemas"])
    assert schema == LOCAL_SCHEMA
    assert_covers_exactly_config_files(patterns)


def test_zed_snippet_sets_yaml_schemas_for_config_files() -> None:
    (settings,) = parsed_blocks(EDITORS / "zed.md", "json")
    server = settings["lsp"]["yaml-language-server"]
    schema, patterns = only_schema_mapping(server["settings"]["yaml"]["schemas"])
    assert schema == LOCAL_SCHEMA
    assert_covers_exactly_config_files(patterns)


def test_vscode_readme_workspace_settings_map_config_files() -> None:
    (settings,) = parsed_blocks(EDITORS / "vscode" / "README.md", "json")
    schema, patterns = only_schema_mapping(settings["yaml.schemas"])
    assert schema == LOCAL_SCHEMA
    assert_covers_exactly_config_files(patterns)


def test_neovim_snippet_sets_yaml_schemas_for_config_files() -> None:
    (lua,) = [body for lang, body in fenced_blocks(EDITORS / "neovim.md") if lang == "lua"]
    assert re.search(r"settings\s*=\s*\{\s*yaml\s*=\s*\{\s*schemas\s*=\s*\{", lua), lua
    entries = re.findall(r"\[\s*'([^']+)'\s*\]\s*=\s*\{([^}]*)\}", lua)
    assert len(entries) == 1, entries
    ((schema, listed),) = entries
    assert schema == LOCAL_SCHEMA
    assert_covers_exactly_config_files(re.findall(r"'([^']+)'", listed))
    assert "vim.lsp.enable('yamlls')" in lua


def test_jetbrains_mapping_covers_config_files() -> None:
    (project,) = parsed_blocks(EDITORS / "jetbrains.md", "xml")
    component = project.find("component[@name='JsonSchemaMappingsProjectConfiguration']")
    assert component is not None
    (info,) = component.iter("SchemaInfo")
    options = {o.get("name"): o for o in info.findall("option")}
    assert options["relativePathToSchema"].get("value") == LOCAL_SCHEMA.removeprefix("./")
    assert options["schemaVersion"].get("value") == "JSON Schema version 7"
    items = [{o.get("name"): o.get("value") for o in item} for item in info.iter("Item")]
    assert all(item.get("mappingKind") == "Pattern" for item in items), items
    assert_covers_exactly_config_files([item["path"] for item in items])


@pytest.mark.parametrize("doc", EDITOR_DOCS)
def test_editor_doc_shows_the_modeline(doc: str) -> None:
    modelines = [
        body for lang, body in fenced_blocks(EDITORS / doc) if lang == "yaml" and MODELINE in body
    ]
    assert modelines, f"{doc} has no yaml block with a modeline"
    assert modelines[0].startswith(MODELINE + LOCAL_SCHEMA + "\n")


# --- pre-commit hook and CI docs ----------------------------------------------------------------


def load_hook() -> dict[str, Any]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = hooks
    return dict(hook)


def test_pre_commit_hook_runs_axoc_check_on_config_files() -> None:
    hook = load_hook()
    assert hook["id"] == "axoc-check"
    assert hook["entry"] == "axoc check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    for path in ["axoc.yaml", "sub/x.axoc.yaml", "axocoatl.yaml", *CONFIG_FILES]:
        assert files.search(path), path
    for path in ["foo.yaml", *NOT_CONFIG_FILES]:
        assert not files.search(path), path


def test_pre_commit_hook_and_editors_agree_on_yaml_names() -> None:
    files = re.compile(load_hook()["files"])
    for path in CONFIG_FILES + NOT_CONFIG_FILES:
        assert bool(files.search(path)) == maps_config_files(CONFIG_PATTERNS, path), path


def test_check_finds_in_a_directory_what_the_hook_and_editors_match(tmp_path: Path) -> None:
    for path in CONFIG_FILES + NOT_CONFIG_FILES:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("agents: []\n", encoding="utf-8")
    found, problems = discover([str(tmp_path)])
    assert problems == []
    assert sorted(Path(f).relative_to(tmp_path).as_posix() for f in found) == sorted(CONFIG_FILES)


def test_ci_doc_pre_commit_snippets_use_the_published_hook() -> None:
    hook = load_hook()
    configs = [c for c in parsed_blocks(ROOT / "docs" / "ci.md", "yaml") if "repos" in c]
    assert len(configs) == 2
    for config in configs:
        (repo,) = config["repos"]
        (used,) = repo["hooks"]
        assert used["id"] == hook["id"]
        if repo["repo"] == "local":
            assert used["entry"] == hook["entry"] and used["files"] == hook["files"]


def test_ci_doc_workflows_use_github_and_sarif_formats() -> None:
    workflows = [c for c in parsed_blocks(ROOT / "docs" / "ci.md", "yaml") if "jobs" in c]
    steps = [step for wf in workflows for job in wf["jobs"].values() for step in job["steps"]]
    runs = [step["run"] for step in steps if "run" in step]
    assert any("axoc check --format github" in run for run in runs)
    upload_action = "github/codeql-action/upload-sarif@"
    (upload,) = [s for s in steps if s.get("uses", "").startswith(upload_action)]
    sarif = upload["with"]["sarif_file"]
    assert any("axoc check --format sarif" in run and run.endswith(f"> {sarif}") for run in runs)
    (sarif_job,) = [j for wf in workflows for j in wf["jobs"].values() if upload in j["steps"]]
    assert sarif_job["permissions"]["security-events"] == "write"
