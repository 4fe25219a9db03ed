"""lmdeck as a package: the wheel carries the templates, theme, schema and demo data, and an installed
wheel renders and exports a deck from a directory outside the checkout (lmdeck.resources).

The wheel is built offline from a copy of the checkout's files (so no build/ lands in the checkout)
and installed `--no-deps` into a throwaway venv. That venv sees the project's dependencies through a
.pth line naming this venv's site-packages: Python adds such a line to sys.path without reading the
.pth files inside it, so the checkout's editable install (a .pth to its src/) stays out."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, report_spec
from lmdeck.settings import ReportSpec
from lmdeck import __version__, deck_data, scores

MARP = ROOT / "node_modules" / ".bin" / "marp"
MARKER = "Rendered from the installed package's templates."


def tracked(*folders: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "-co", "--exclude-standard", *folders],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [rel for rel in out.split("\0") if rel]


def source_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked and new, not ignored): what a clean clone holds."""
    for rel in tracked():
        src = ROOT / rel
        if src.is_symlink() or not src.is_file():  # a worktree's .venv / node_modules links
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    return dest


def clean_env(venv: Path) -> dict:
    """No PYTHONPATH (the tests run with the checkout's src on it), the venv's bin first on the PATH."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(PYTHONNOUSERSITE="1", PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    return env


def run(cmd: list, cwd: Path, env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def throwaway_venv(path: Path) -> Path:
    """A venv without pip that sees this venv's packages (dependencies, pip, setuptools) but no lmdeck."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    site = Path(
        run(
            [path / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            path,
            clean_env(path),
        ).stdout.strip()
    )
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_lmdeck_test_deps.pth").write_text("".join(f"{p}\n" for p in ours), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("packaging")
    src = source_copy(tmp / "src")
    env = clean_env(Path(sys.prefix))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            tmp / "dist",
            ".",
        ],
        src,
        env,
        timeout=300,
    )
    (wheel,) = (tmp / "dist").glob("lmdeck-*.whl")
    return {"tmp": tmp, "src": src, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(built) -> dict:
    venv = throwaway_venv(built["tmp"] / "venv")
    env = clean_env(venv)
    run([venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", built["wheel"]], built["tmp"], env)
    work = built["tmp"] / "elsewhere"  # outside the checkout
    work.mkdir()
    return {"venv": venv, "env": env, "work": work}


def where(venv: Path, cwd: Path, env: dict) -> dict:
    code = (
        "import json, lmdeck; from lmdeck import config, deck, resources as r; "
        "print(json.dumps({'lmdeck': lmdeck.__file__, 'checkout': str(r.checkout()), 'templates': str(r.templates()), "
        "'theme': str(r.theme()), 'schema': str(r.schema()), 'demo_data': str(r.demo_data()), "
        "'config.SCHEMA': str(config.SCHEMA), 'deck.TEMPLATES': str(deck.TEMPLATES)}))"
    )
    return json.loads(run([venv / "bin" / "python", "-c", code], cwd, env).stdout)


def test_wheel_holds_the_package_data_and_no_tests_or_results(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    mapped = {"templates/": "lmdeck/templates/", "schemas/": "lmdeck/schemas/", "data/demo/": "lmdeck/demo_data/"}
    for folder, inside in mapped.items():
        files = tracked(folder)
        assert files, folder
        missing = [f for f in files if inside + f.removeprefix(folder) not in names]
        assert not missing, f"not in the wheel (add a package-data glob in pyproject.toml): {missing}"
    # The package list in pyproject.toml is explicit: every module under src/lmdeck must be in it.
    modules = [f.removeprefix("src/") for f in tracked("src/lmdeck") if f.endswith(".py")]
    assert modules and not [m for m in modules if m not in names], "a package is missing from pyproject's list"
    assert "lmdeck/templates/lmdeck.css" in names and "lmdeck/schemas/config.schema.yaml" in names
    assert {n.split("/")[0] for n in names} == {"lmdeck", f"lmdeck-{__version__}.dist-info"}, sorted(names)
    assert not [n for n in names if "tests/" in n or "results/" in n or "__pycache__" in n]


def test_installed_wheel_finds_its_data_in_the_package(installed):
    venv, env, work = installed["venv"], installed["env"], installed["work"]
    assert "deck" in run([venv / "bin" / "lmdeck", "--help"], work, env).stdout
    paths = where(venv, work, env)
    assert paths.pop("checkout") == "None", "the installed lmdeck thinks it runs from a checkout"
    for name, path in paths.items():
        assert Path(path).resolve().is_relative_to(venv.resolve()), f"{name} is not the installed copy: {path}"
        assert Path(path).exists(), f"{name}: {path}"
    # The demo data is readable as benchmark data from the package.
    code = "from lmdeck import formats, resources; print(len(formats.get('mmlu').read(resources.demo_data() / 'mmlu')))"
    assert int(run([venv / "bin" / "python", "-c", code], work, env).stdout) > 0


def test_installed_wheel_renders_and_exports_the_deck(installed, tmp_path):
    venv, env, work = installed["venv"], installed["env"], installed["work"]
    installed_templates = Path(where(venv, work, env)["templates"])
    title = installed_templates / "slides" / "title.md.j2"
    title.write_text(title.read_text(encoding="utf-8") + f"\n{MARKER}\n", encoding="utf-8")

    spec = report_spec(
        [{"name": "m1", "kind": "base"}],
        [
            {
                "name": "B1",
                "category": "exams",
                "format": "mmlu",
                "shots": 0,
                "metric": "acc",
                "harness": "lm-eval",
                "description": "A benchmark.",
                "reference": "",
            }
        ],
    )
    row = {c: None for c in scores.COLUMNS}
    row.update(
        model="m1",
        benchmark="B1",
        subtask="all",
        harness="lm-eval",
        metric="acc",
        shots=0,
        score=61.5,
        stderr=1.0,
        n=10,
        source="measured",
        started="2026-01-01T00:00:00+00:00",
        category="exams",
        table="base",
        model_sha256="abc",
        data_sha256="def",
    )
    data = work / "deck.json"
    data.write_text(
        json.dumps(
            deck_data.build(ReportSpec.from_dict(spec), pd.DataFrame([row], columns=scores.COLUMNS), None, tmp_path)
        ),
        encoding="utf-8",
    )
    (work / "attachments").mkdir(exist_ok=True)
    report = {"name": "pkg", "title": "Packaged deck", "sections": ["title", "benchmarks", "results"]}
    run(
        [
            venv / "bin" / "lmdeck",
            "deck",
            "--data",
            "deck.json",
            "--report",
            json.dumps(report),
            "--attachments",
            "attachments",
            "--out",
            "slides/pkg.md",
        ],
        work,
        env,
    )
    md = (work / "slides" / "pkg.md").read_text(encoding="utf-8")
    assert "theme: lmdeck" in md and "# Packaged deck" in md and "61.5" in md
    assert MARKER in md, "the deck was not rendered from the installed package's templates"

    if not MARP.exists():
        pytest.skip("marp-cli not installed in the checkout (npm install)")
    # An installed lmdeck finds marp-cli on the PATH and its theme in the package (no --theme).
    env = {**env, "PATH": f"{env['PATH']}{os.pathsep}{MARP.parent}"}
    run(
        [venv / "bin" / "lmdeck", "export", "--deck", "slides/pkg.md", "--format", "html", "--out", "slides/pkg.html"],
        work,
        env,
    )
    html = (work / "slides" / "pkg.html").read_text(encoding="utf-8")
    assert "Packaged deck" in html and MARKER in html
    assert "#1f3b73" in html.lower(), "the lmdeck theme (lmdeck.css) is not in the exported deck"


def test_editable_install_reads_the_checkout_folders(built):
    """setuptools' editable finder does not map data-only subpackages: lmdeck.resources falls back to
    the checkout's own folders (as for PYTHONPATH=src)."""
    venv = throwaway_venv(built["tmp"] / "venv-editable")
    env = clean_env(venv)
    src = built["src"]
    run(
        [venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-e", "."],
        src,
        env,
        timeout=300,
    )
    work = built["tmp"] / "elsewhere-editable"
    work.mkdir()
    paths = where(venv, work, env)
    assert Path(paths["lmdeck"]).resolve() == (src / "src" / "lmdeck" / "__init__.py").resolve()
    assert Path(paths["checkout"]).resolve() == src.resolve()
    assert Path(paths["templates"]).resolve() == (src / "templates").resolve()
    assert Path(paths["schema"]).resolve() == (src / "schemas" / "config.schema.yaml").resolve()
    assert Path(paths["demo_data"]).resolve() == (src / "data" / "demo").resolve()
