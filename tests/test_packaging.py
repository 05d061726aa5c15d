"""Packaging: the configuration table is complete, the version is printed, extras are optional, the container recipe holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from api.cli import main
from api.settings import SETTINGS
from engine.extras import require
from rules.errors import FeatureDisabled
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for folder in ("api", "engine", "rules", "replay", "importers"):
        for path in (ROOT / folder).glob("*.py"):
            found |= set(re.findall(r'"(ARBITER_[A-Z_]*[A-Z])"', path.read_text()))
    return {name for name in found if not name.startswith("ARBITER_DECISION_LOG_")}  # docs/operations.md has those


def test_every_variable_the_service_reads_is_in_the_readme_table() -> None:
    """Each ARBITER_* variable the code reads is declared in api/settings.py and has a row in the README's table."""
    declared = {name for name, _, _ in SETTINGS}
    assert _variables_read_by_the_code() <= declared
    first_screen = README.split("## Commands")[0]
    for name in declared:
        assert f"| `{name}` |" in first_screen, name


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    """`arbiter --version` prints pyproject.toml's version and exits 0; the changelog has a section for it."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out.strip() == f"arbiter {version}"
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text()


def test_the_service_needs_neither_durable_rules_nor_pyarrow() -> None:
    """With both extras unimportable, the app starts, decides, and serves its docs; they are extras in pyproject."""
    script = (
        "import sys; sys.modules['durable_rules_engine'] = None; sys.modules['pyarrow'] = None\n"
        "from fastapi.testclient import TestClient\n"
        "from api.app import create_app\n"
        "client = TestClient(create_app('policy_packs'))\n"
        "body = open('examples/credit.json', 'rb').read()\n"
        "assert client.post('/v1/decisions/credit?as_of=2026-06-01', content=body).status_code == 200\n"
        "assert client.get('/openapi.json').status_code == 200\n"
        "print('served')\n"
    )
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.stdout.strip() == "served", done.stderr
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith(("durable-rules", "pyarrow"))]
    assert project["optional-dependencies"]["durable"] == ["durable-rules==2.0.28"]
    assert [d for d in project["optional-dependencies"]["simulate"] if d.startswith("pyarrow")]


def test_a_missing_extra_is_named_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code needing an absent extra gets a clear FeatureDisabled naming the pip extra."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(FeatureDisabled, match=r"pip install 'arbiter\[simulate\]'"):
        require("pyarrow.parquet", "reading Parquet orders")


def test_the_container_recipe_is_slim_non_root_checked_and_serves_the_packs() -> None:
    """The Dockerfile: slim base, a non-root user, a health check on /readyz, the bundled packs, `arbiter serve`."""
    recipe = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[12]-slim", recipe, re.M)
    user = re.findall(r"^USER (\S+)", recipe, re.M)
    assert user
    assert user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/readyz", recipe, re.M)
    assert "COPY policy_packs" in recipe
    assert "arbiter serve" in recipe.split("ENTRYPOINT")[-1]
    assert "[dev" not in recipe
    assert "durable" not in recipe.split("RUN pip install")[-1].split("\n")[0]


def test_the_container_script_says_when_no_engine_runs(tmp_path: Path) -> None:
    """scripts/container with an engine that answers --version but runs nothing: it says so and exits 0."""
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Docker version 27' && exit 0\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "container")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "no running container engine" in done.stderr


def test_the_licence_is_apache_2() -> None:
    """LICENSE is the Apache License 2.0 and pyproject says so."""
    assert "Apache License\n                           Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "Apache-2.0"}
