"""The design rules the code keeps, checked: where settings come from, which code may import
Dagster, that every folder is documented, and the asset graph."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

from tests.asset_graph import asset_graph_lines

PACKAGE = Path(__file__).resolve().parent.parent / "pipelines"
SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "asset_graph.txt"


def _environment_uses(path: Path) -> list[int]:
    """Lines of `path` that touch the process environment (os.environ, os.getenv, os.putenv)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "putenv", "unsetenv"})
        or (isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name == "environ" for a in node.names))
    ]


def test_only_the_settings_module_touches_the_environment():
    touching = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _environment_uses(path))
    }
    assert set(touching) == {"settings.py"}, f"the environment is read in settings.py only: {touching}"


# A month travels as a BillingPeriod; its key (str) and first day (date) are its forms at the
# edges and in SQL. The one function that checks a key's text is the exception.
MONTH_PARAMETERS = {"period", "month", "billing_period"}
TEXT_KEY_CHECK = ("periods.py", "validate_period")


def _months_as_text_or_dates(path: Path) -> list[str]:
    """`function(name: annotation)` of every month parameter of `path` typed str or date."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if (path.name, node.name) == TEXT_KEY_CHECK:
            continue
        for argument in [*node.args.args, *node.args.kwonlyargs]:
            annotation = ast.unparse(argument.annotation) if argument.annotation else ""
            if argument.arg in MONTH_PARAMETERS and re.fullmatch(r"(str|date|dt\.date)( \| None)?", annotation):
                found.append(f"{node.name}({argument.arg}: {annotation})")
    return found


def test_months_travel_as_billing_periods():
    typed_otherwise = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := _months_as_text_or_dates(path))
    }
    assert typed_otherwise == {}, f"a month parameter is a BillingPeriod (pipelines/periods.py): {typed_otherwise}"


def test_the_asset_graph_changes_only_deliberately(definitions):
    current = asset_graph_lines(definitions)
    recorded = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    added, removed = sorted(set(current) - set(recorded)), sorted(set(recorded) - set(current))
    assert not added and not removed, (
        f"asset graph changed (added {added}, removed {removed}): if deliberate, record it with "
        "`python -m tests.asset_graph > tests/fixtures/asset_graph.txt`"
    )
    assert len(current) == len(set(current))


REPOSITORY = PACKAGE.parent
WIRING = PACKAGE / "defs"
# The two entry points: the command line and Dagster's code location.
ENTRY_POINTS = {"cli.py", "definitions.py"}


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_library_never_imports_dagster_or_its_wiring():
    wiring_imports = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if WIRING in path.parents or path.relative_to(PACKAGE).as_posix() in ENTRY_POINTS:
            continue
        found = sorted(
            name
            for name in _imported_modules(path)
            if name.split(".")[0] in {"dagster", "dagster_dbt"} or name.startswith("pipelines.defs")
        )
        if found:
            wiring_imports[path.relative_to(PACKAGE).as_posix()] = found
    assert not wiring_imports, (
        f"domain code imports the Dagster wiring (move it under pipelines/defs/): {wiring_imports}"
    )


def test_every_wiring_room_has_its_library_room():
    rooms = {path.name for path in WIRING.iterdir() if (path / "__init__.py").exists()}
    library = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()} - {"defs"}
    assert rooms - library == set(), f"wiring rooms without a library room of the same name: {rooms - library}"


def test_every_folder_is_in_the_readme_layout():
    """Each tracked folder is named in the README's layout section, by its path or by its path
    below a folder listed there (`templates/report/` under pipelines/quality/)."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    folders = {
        Path(name).parent
        for name in subprocess.run(
            ["git", "ls-files"], cwd=REPOSITORY, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    } - {Path(".")}
    unlisted = sorted(
        folder.as_posix()
        for folder in folders
        if not any(f"`{Path(*folder.parts[start:]).as_posix()}/`" in layout for start in range(len(folder.parts)))
    )
    assert not unlisted, f"folders missing from the README's layout table: {unlisted}"


def test_the_readme_quality_map_lists_every_check_once(definitions):
    from pipelines.defs.transform.project import ensure_manifest
    from pipelines.settings import process_settings
    from tests.quality_map import README, quality_map_rows, quality_map_table, readme_with_map

    rows = quality_map_rows(definitions, ensure_manifest(process_settings()))
    names = [name for _, _, name, _, _ in rows]
    assert len(names) == len(set(names)) == len(definitions.resolve_asset_graph().asset_check_keys)
    readme = README.read_text(encoding="utf-8")
    assert readme_with_map(readme, quality_map_table(rows)) == readme, (
        "the README's quality map is out of date: regenerate it with `python -m tests.quality_map`"
    )


def test_the_checks_the_map_calls_blocking_are_the_issuing_gate(definitions, tmp_path):
    from pipelines.defs.quality.gate import blocking_checks
    from pipelines.defs.transform.project import ensure_manifest
    from pipelines.settings import Settings, process_settings
    from tests.quality_map import quality_map_rows

    manifest = ensure_manifest(process_settings())
    rows = quality_map_rows(definitions, manifest)
    mapped = {name for layer, _, name, _, effect in rows if layer != "dbt" and effect == "blocking"}
    gate = {name for name, _ in blocking_checks(Settings(data_dir=tmp_path).paths, manifest)} - {"dbt_tests"}
    assert mapped == gate


def test_reconciliation_statuses_are_the_ones_the_model_writes_and_dbt_accepts():
    from pipelines.defs.transform.project import ensure_manifest
    from pipelines.quality.reconciliation_status import ReconciliationStatus
    from pipelines.settings import process_settings

    nodes = json.loads(ensure_manifest(process_settings()).read_text(encoding="utf-8"))["nodes"].values()
    (accepted,) = [
        node["test_metadata"]["kwargs"]["values"]
        for node in nodes
        if node["resource_type"] == "test"
        and node.get("test_metadata", {}).get("name") == "accepted_values"
        and node.get("column_name") == "status"
        and "invoice_reconciliation" in node["name"]
    ]
    sql = (REPOSITORY / "dbt_project" / "models" / "marts" / "invoice_reconciliation.sql").read_text(encoding="utf-8")
    status_case = sql[: sql.index("end as status")].rsplit("recon_line_count,", 1)[1]
    written = set(re.findall(r"(?:then|else) '([a-z_]+)'", status_case))
    assert set(accepted) == {status.value for status in ReconciliationStatus} == written


SCHEMAS = ("raw", "staging", "intermediate", "marts", "focus", "config", "billing")
RELATION = re.compile(rf"(?<![\w./-])({'|'.join(SCHEMAS)})\.([a-z_][a-z0-9_]*)\b")


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_every_relation_the_code_names_is_a_dbt_relation_or_a_declared_table():
    """SQL in Python names the dbt project's models and sources (the manifest) or a table the
    pipeline owns, declared once as a module constant (`ISSUED_TABLE = "billing.issued_invoices"`):
    a renamed or misspelt relation fails here, not in a partner's month."""
    from pipelines.defs.transform.project import ensure_manifest
    from pipelines.settings import process_settings

    manifest = json.loads(ensure_manifest(process_settings()).read_text(encoding="utf-8"))
    known = {
        f"{node['schema']}.{node.get('alias') or node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    } | {f"{source['schema']}.{source['identifier']}" for source in manifest["sources"].values()}
    named: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        known |= {
            node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and RELATION.fullmatch(node.value.value)
        }
        for line, text in _strings(tree):
            for match in RELATION.finditer(text):
                named.setdefault(match.group(0), []).append(f"{path.relative_to(PACKAGE)}:{line}")
    unknown = {relation: places for relation, places in named.items() if relation not in known}
    assert not unknown, f"relations that are neither dbt's nor a declared table: {unknown}"
