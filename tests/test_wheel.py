"""The distribution as a user installs it: a wheel in a fresh virtual environment, run outside the checkout.

Nothing is downloaded: the wheel is built without build isolation, installed with --no-deps --no-index,
and the environment then sees the test environment's packages (its dependencies) through a .pth line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from assistant import Config

pytestmark = pytest.mark.slow  # builds, installs and indexes: left out of the quick tier

CHECKOUT = Path(__file__).resolve().parent.parent
# Top-level folders of a working checkout that are no part of the source.
NOT_SOURCE = {".git", ".venv", "index", "build", "dist", "test-artifacts", ".pytest_cache", ".ruff_cache"}


def _source_files(folder: str, suffixes: tuple[str, ...]) -> set[str]:
    return {
        str(p.relative_to(CHECKOUT)) for p in (CHECKOUT / folder).rglob("*") if p.is_file() and p.suffix in suffixes
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout's source (the checkout gets no build/ or egg-info)."""
    root = tmp_path_factory.mktemp("wheel-build")
    source = root / "source"
    shutil.copytree(
        CHECKOUT,
        source,
        ignore=lambda folder, names: [
            n
            for n in names
            if (Path(folder) == CHECKOUT and n in NOT_SOURCE) or n == "__pycache__" or n.endswith(".egg-info")
        ],
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = (root / "dist").glob("report_assistant-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel; returns its bin/ folder."""
    env = tmp_path_factory.mktemp("wheel-venv") / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # Only after the install: pip must see an empty environment, never the test environment's packages.
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site_packages, "test-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    return env / "bin"


def test_the_wheel_ships_the_package_the_page_the_prompts_the_glossary_and_the_report(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert "ui.py" in shipped
    assert _source_files("assistant", (".py", ".tsv")) <= shipped
    assert {f"assistant/templates/{p.name}" for p in (CHECKOUT / "prompts").glob("*.txt")} <= shipped
    assert {f"assistant/corpus/{p.name}" for p in (CHECKOUT / "corpus").iterdir()} <= shipped


def test_the_installed_command_indexes_into_the_user_data_folder_and_answers(
    installed: Path, base_config: Config, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ASSISTANT_")}
    env |= {"XDG_DATA_HOME": str(tmp_path / "data"), "ASSISTANT_CACHE_DIR": str(base_config.cache_dir)}
    env["ASSISTANT_LLM"] = "none"

    def run(*command: str) -> str:
        process = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert process.returncode == 0 and "Traceback" not in process.stderr, process.stderr
        return process.stdout

    built = run(str(installed / "assistant"), "index", "build")  # a new index: the bundled report
    assert "added 1" in built
    assert any((tmp_path / "data" / "report-assistant" / "index").iterdir())  # the per-user data folder
    result = json.loads(run(str(installed / "assistant"), "ask", "2007年广州市专利授权量是多少？", "--json"))
    assert result["found"] is True and "8524" in result["text"] and result["mode"] == "extractive"

    script = (
        "import json, assistant, ui\n"
        "from assistant import answer\n"
        "from assistant.crosslingual import glossary\n"
        "from assistant.prompts import template\n"
        "result = answer('How many patents were granted in 2007?', mode='extractive')\n"
        "print(json.dumps({'package': assistant.__file__, 'page': ui.__file__, 'glossary': len(glossary()),\n"
        "    'refusal': template('refusal', 'zh'), 'text': result.text, 'found': result.found}))\n"
    )
    shown = json.loads(run(str(installed / "python"), "-c", script))
    site = str(installed.parent)
    assert shown["package"].startswith(site) and shown["page"].startswith(site)
    assert (
        shown["glossary"] > 50
        and shown["refusal"] == (CHECKOUT / "prompts" / "refusal.zh.txt").read_text(encoding="utf-8").strip()
    )
    assert shown["found"] is True and "8524" in shown["text"]
