"""docs/licences.md stays true: every runtime dependency listed with the licence it declares, and the
GPL exactly where the doc, the Dockerfile labels and pyproject say it is."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.compose_file import DOCKERFILE, dockerfile_stages, licences_script
from tests.procs import ROOT

# What docs/licences.md decides: the source, and each image as a whole.
IMAGE_LICENCES = {"gateway": "Apache-2.0", "agent": "GPL-3.0-or-later", "bridge": "GPL-3.0-only"}
# The GPL/AGPL packages the doc discusses, by image; a new one needs a decision, not just a table row.
STRONG_COPYLEFT = {"gateway": set[str](), "agent": {"piper-tts"}, "bridge": {"libsignal"}}


def _doc() -> str:
    return licences_script().DOC.read_text()


def _key(row: object) -> tuple[str, str, str, str]:
    # Python versions are not compared: pyproject's ranges may resolve newer ones than the table's.
    return (row.name, row.licence, row.source, row.where)  # type: ignore[attr-defined]


def test_every_python_runtime_dependency_is_in_the_table_with_its_licence() -> None:
    licences = licences_script()
    installed = {row.name: _key(row) for row in licences.python_rows()}
    listed = {row.name: _key(row) for row in licences.read_table(_doc(), licences.PYTHON_TABLE)}
    missing = sorted(set(installed) - set(listed))
    stale = sorted(set(listed) - set(installed))
    both = sorted(set(listed) & set(installed))
    changed = [f"{listed[n]} is now {installed[n]}" for n in both if listed[n] != installed[n]]
    hint = "run `.venv/bin/python docs/licences.py --write` and review the change"
    problems = {"missing from the table": missing, "no longer pulled in": stale, "licence changed": changed}
    assert not any(problems.values()), f"{problems}: {hint}"


def test_the_node_table_is_the_lock_file() -> None:
    licences = licences_script()
    assert licences.read_table(_doc(), licences.NPM_TABLE) == licences.npm_rows(), (
        "baileys-bridge/package-lock.json changed: run `.venv/bin/python docs/licences.py --write`"
    )


def test_gpl_code_is_only_where_the_doc_says() -> None:
    licences = licences_script()
    found: dict[str, set[str]] = {image: set() for image in STRONG_COPYLEFT}
    for row in licences.python_rows():
        for image in row.where.split(", "):
            if row.strong_copyleft():
                found[image].add(row.name)
    found["bridge"] = {row.name for row in licences.npm_rows() if row.strong_copyleft()}
    assert found == STRONG_COPYLEFT
    doc = _doc()
    for names in STRONG_COPYLEFT.values():
        for name in names:
            assert f"`{name}`" in doc.split("## Every runtime dependency")[0], f"the decision omits {name}"


def test_the_dockerfile_labels_and_pyproject_state_the_decision() -> None:
    stages = dockerfile_stages()
    for target, licence in IMAGE_LICENCES.items():
        labels = re.findall(r'org\.opencontainers\.image\.licenses="([^"]+)"', stages[target].text)
        assert labels == [licence], f"{DOCKERFILE.name}: the {target} stage should say {licence}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    decision = _doc().split("## The models")[0]
    for target, licence in IMAGE_LICENCES.items():
        assert re.search(rf"^\| the `{target}` image.*\*\*{re.escape(licence)}\*\*", decision, re.M), target
