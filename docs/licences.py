"""The tables of docs/licences.md: every runtime dependency of each image, its version and licence.

    .venv/bin/python docs/licences.py            # print the tables
    .venv/bin/python docs/licences.py --write    # rewrite them in docs/licences.md

Python: the transitive closure of pyproject's base dependencies plus one extra (`gateway` or `agent`,
what compose/Dockerfile installs in that image), walked through the installed distributions' metadata
(importlib.metadata, markers evaluated for this interpreter), so run it in a venv that has both extras
(`make install`'s .venv). Licence: the distribution's License-Expression, else its License field when
that is one short line, else its License classifiers. Node: the Baileys sidecar's production packages as
baileys-bridge/package-lock.json pins them (`npm ci --omit=dev`, what the `bridge` image installs).
tests/deploy/test_licences.py fails when a table no longer says what this computes.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import re
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "licences.md"
PYPROJECT = ROOT / "pyproject.toml"
NPM_LOCK = ROOT / "baileys-bridge" / "package-lock.json"
IMAGES = ("gateway", "agent")
# Installed without their dependencies on top of an image's extra (compose/Dockerfile, the Makefile):
# only a data file of theirs is used, and their own pins would clash with ours.
NO_DEPS = {"gateway": (), "agent": ("pipecat-ai",)}
PYTHON_TABLE = "python"
NPM_TABLE = "npm"

# Classifier wording -> SPDX, where the classifier names one licence; "BSD License" does not say which.
_CLASSIFIERS = {
    "MIT License": "MIT",
    "Apache Software License": "Apache-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "BSD License": "BSD (unspecified)",
    "ISC License (ISCL)": "ISC",
}
# License fields that are SPDX in all but spelling.
_FIELDS = {
    "MIT License": "MIT",
    "Apache 2.0": "Apache-2.0",
    "Apache License 2.0": "Apache-2.0",
    "3-Clause BSD License": "BSD-3-Clause",
    "BSD": "BSD (unspecified)",
}
_STRONG_COPYLEFT = re.compile(r"(?<![L])(A?GPL)-")


@dataclass(frozen=True, order=True)
class Row:
    name: str
    version: str
    licence: str
    source: str  # where the licence was read: expression, field, classifier, package-lock
    where: str  # Python: the images ("gateway, agent"); npm: the platform it installs on

    def strong_copyleft(self) -> bool:
        """GPL or AGPL (not LGPL): linking it into a program makes the whole subject to its terms. A choice
        ("GPL-3.0-or-later OR Apache-2.0") is not: we take the permissive alternative."""
        choices = [c.strip("() ") for c in re.split(r"\s+OR\s+", self.licence)]
        return all(_STRONG_COPYLEFT.search(choice) for choice in choices)


def project_requirements(extra: str) -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = [*project["dependencies"], *project["optional-dependencies"][extra]]
    return [Requirement(text) for text in names]


def _applies(requirement: Requirement, extras: Iterable[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in (*extras, ""))


def closure(requirements: Iterable[Requirement]) -> dict[str, metadata.Distribution]:
    """Every installed distribution these requirements pull in, by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(req, frozenset[str]()) for req in requirements]
    while pending:
        requirement, parent_extras = pending.pop()
        if not _applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = found.get(name) or metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise LookupError(f"{requirement} is required but not installed in {sys.prefix}") from None
        found[name] = distribution
        for text in distribution.requires or []:
            pending.append((Requirement(text), frozenset(requirement.extras)))
    return found


def _field(distribution: metadata.Distribution, name: str) -> str:
    values = distribution.metadata.get_all(name) or []
    return str(values[0]).strip() if values else ""


def licence_of(distribution: metadata.Distribution) -> tuple[str, str]:
    """The licence a distribution declares, and which metadata said it."""
    expression = _field(distribution, "License-Expression")
    if expression:
        return expression, "expression"
    field = _field(distribution, "License")
    if field and "\n" not in field and len(field) <= 60 and field.upper() != "UNKNOWN":
        return _FIELDS.get(field, field), "field"
    prefix = "License :: OSI Approved :: "
    found = distribution.metadata.get_all("Classifier") or []
    classifiers = [c[len(prefix) :] for c in found if c.startswith(prefix)]
    if classifiers:
        return " OR ".join(sorted({_CLASSIFIERS.get(c, c) for c in classifiers})), "classifier"
    return "UNKNOWN", "none"


def python_rows() -> list[Row]:
    per_image = {image: closure(project_requirements(image)) for image in IMAGES}
    for image, names in NO_DEPS.items():
        per_image[image] |= {canonicalize_name(n): metadata.distribution(n) for n in names}
    rows = []
    for name in sorted(set().union(*per_image.values())):
        distribution = next(found[name] for found in per_image.values() if name in found)
        licence, source = licence_of(distribution)
        where = ", ".join(image for image in IMAGES if name in per_image[image])
        rows.append(Row(name, distribution.version, licence, source, where))
    return rows


def npm_rows(lock: Path = NPM_LOCK) -> list[Row]:
    packages = json.loads(lock.read_text())["packages"]
    rows = set()
    for path, spec in packages.items():
        if not path or spec.get("dev") or spec.get("link"):
            continue
        name = path.rsplit("node_modules/", 1)[1]
        platform = " ".join("/".join(spec.get(key, [])) for key in ("os", "cpu", "libc")).strip()
        platform = re.sub(r" +", " ", platform)
        # An optional package without a platform is an optional peer npm does not install unasked.
        where = f"{platform} only" if platform else "optional" if spec.get("optional") else "all"
        rows.add(Row(name, spec["version"], spec.get("license", "UNKNOWN"), "package-lock", where))
    return sorted(rows)


def render(rows: list[Row], table: str) -> str:
    if table == PYTHON_TABLE:
        lines = ["| package | version | licence | read from | images |", "|---|---|---|---|---|"]
    else:
        lines = ["| package | version | licence | read from | installs on |", "|---|---|---|---|---|"]
    for row in rows:
        licence = f"**{row.licence}**" if row.strong_copyleft() else row.licence
        lines.append(f"| {row.name} | {row.version} | {licence} | {row.source} | {row.where} |")
    return "\n".join(lines)


def _markers(table: str) -> tuple[str, str]:
    return f"<!-- generated by docs/licences.py: {table} -->", f"<!-- end of {table} -->"


def read_table(text: str, table: str) -> list[Row]:
    """The rows docs/licences.md holds between a table's markers (bold marks strong copyleft)."""
    begin, end = _markers(table)
    body = text.split(begin, 1)[1].split(end, 1)[0]
    rows = []
    for line in body.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name, version, licence, source, where = cells
        rows.append(Row(name, version, licence.strip("*"), source, where))
    return rows


def write(text: str, tables: dict[str, str]) -> str:
    for table, rendered in tables.items():
        begin, end = _markers(table)
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        text = f"{before}{begin}\n{rendered}\n{end}{after}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help=f"rewrite the tables in {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    tables = {PYTHON_TABLE: render(python_rows(), PYTHON_TABLE), NPM_TABLE: render(npm_rows(), NPM_TABLE)}
    if args.write:
        DOC.write_text(write(DOC.read_text(), tables))
    else:
        print("\n\n".join(tables.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
