"""The install a newcomer runs first is quiet: no setuptools or pip warning.

The fresh-venv test downloads and builds, so it runs only with NEWSALERT_SLOW_TESTS=1:
    NEWSALERT_SLOW_TESTS=1 .venv/bin/pytest -q tests/test_packaging.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SLOW = os.environ.get("NEWSALERT_SLOW_TESTS") == "1"

# This machine's pip configuration names index folders that do not exist; pip warns about
# them on every command, whatever is installed. Those lines are not about this project.
_MACHINE_NOISE = re.compile(r"^WARNING: Location '[^']*' is ignored")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string_with_its_file() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    for name in project["license-files"]:
        assert (REPO / name).is_file(), name


def test_build_requires_a_setuptools_that_reads_an_spdx_license() -> None:
    requires = _pyproject()["build-system"]["requires"]
    assert "setuptools>=77" in requires


def test_the_translations_ship_as_data_of_bot() -> None:
    data = _pyproject()["tool"]["setuptools"]["package-data"]
    assert "locale/*/LC_MESSAGES/*.po" in data["bot"]
    assert list((REPO / "bot" / "locale").glob("*/LC_MESSAGES/*.po"))


def _warnings(output: str) -> list[str]:
    lines = [line for line in output.splitlines() if not _MACHINE_NOISE.match(line.strip())]
    return [line for line in lines if re.search(r"warn|deprecat|absent from", line, re.I)]


def _checkout_copy(dest: Path) -> Path:
    """The files git tracks or would (a fresh clone), or the tree without the venv and caches."""
    try:
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        files = []
    if files and files != [b""]:
        for name in filter(None, files):
            path = REPO / os.fsdecode(name)
            if path.is_file():
                target = dest / os.fsdecode(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    else:
        ignore = shutil.ignore_patterns(".venv", "build", "*.egg-info", "__pycache__", ".*_cache")
        shutil.copytree(REPO, dest, ignore=ignore, dirs_exist_ok=True)
    return dest


@pytest.mark.skipif(not SLOW, reason="slow (a fresh venv and a download); NEWSALERT_SLOW_TESTS=1")
@pytest.mark.timeout(900)
def test_a_fresh_venv_installs_without_a_warning(tmp_path: Path) -> None:
    checkout = _checkout_copy(tmp_path / "checkout")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip"]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*pip, *args], cwd=checkout, capture_output=True, text=True, check=False
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        return output

    # what the README and the Makefile do: a current pip first (pip 23.2 does not normalise
    # extras and warns that lxml has no 'html_clean', which justext asks for)
    run("install", "--upgrade", "pip")
    editable = run("install", "-e", ".")
    assert _warnings(editable) == [], editable
    regular = run("install", ".")
    assert _warnings(regular) == [], regular
    # the installed copy (not the checkout) carries the translations and the bundled data
    probe = (
        "from importlib.resources import files; "
        "print((files('bot') / 'locale/ko/LC_MESSAGES/newsalert.po').is_file(), "
        "(files('bot.data') / 'demo_feed.xml').is_file())"
    )
    installed = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.stdout.split() == ["True", "True"], installed.stderr
