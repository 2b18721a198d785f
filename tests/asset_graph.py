"""The asset graph as text: every asset key and every asset check, one per line, sorted.

`python -m tests.asset_graph > tests/fixtures/asset_graph.txt` records a deliberate change."""

from __future__ import annotations

import dagster as dg


def asset_graph_lines(definitions: dg.Definitions) -> list[str]:
    graph = definitions.resolve_asset_graph()
    assets = [f"asset {key.to_user_string()}" for key in graph.get_all_asset_keys()]
    checks = [f"check {check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys]
    return sorted(assets) + sorted(checks)


if __name__ == "__main__":
    import os

    os.environ.setdefault("CSP_RECON_FIRST_MONTH", "2025-01")
    from pipelines.definitions import defs

    with dg.instance_for_test():
        print("\n".join(asset_graph_lines(defs())))
