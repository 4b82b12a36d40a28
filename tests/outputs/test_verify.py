"""hessian_spectra.outputs.verify: the temporary copy it builds in, and its argument checks (the
build itself is the workflow's, tested in test_workflow.py; `make verify` runs it)."""

import subprocess
from pathlib import Path

import pytest

from hessian_spectra.outputs import verify


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A tiny git repository shaped like this one: committed outputs of two profiles, an
    ignored cache, an untracked new file."""
    repo = tmp_path / "repo"
    config = Path(__file__).resolve().parents[2] / "config"  # verify checks the profile before it builds
    files = {"Snakefile": "", "config/default.yaml": (config / "default.yaml").read_text(),
             "config/ci.yaml": (config / "ci.yaml").read_text(), "src/pkg/__init__.py": "",
             "figures/default/fig1.png": "png", "tables/default/table1.csv": "a\n1\n",
             "paper/default/report.html": "<html>", "paper/report.py": "# report",
             "figures/other/fig1.png": "png", "tables/other/table1.csv": "a\n1\n",
             ".gitignore": "results/\n"}
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    (repo / "results/default").mkdir(parents=True)
    (repo / "results/default/cache.pt").write_text("cache")
    (repo / "src/pkg/new.py").write_text("# not committed yet")
    return repo


def test_the_copy_leaves_out_the_profiles_outputs_and_ignored_caches(repo, tmp_path):
    copy = tmp_path / "copy"
    copied = verify.copy_repository(repo, copy, "default")
    for name in ("Snakefile", "config/default.yaml", "src/pkg/__init__.py", "paper/report.py",
                 "figures/other/fig1.png", "tables/other/table1.csv", "src/pkg/new.py"):
        assert (copy / name).is_file(), name
        assert name in copied
    for name in ("figures/default", "tables/default", "paper/default", "results"):
        assert not (copy / name).exists(), name
    assert (copy / "tables/other/table1.csv").read_text() == "a\n1\n"


def test_the_copy_skips_a_tracked_file_deleted_in_the_working_tree(repo, tmp_path):
    (repo / "paper/report.py").unlink()
    copied = verify.copy_repository(repo, tmp_path / "copy", "default")
    assert "paper/report.py" not in copied


@pytest.mark.parametrize("args, field", [
    (["--profile", "nope"], "--profile"),
    (["--cores", "0"], "--cores"),
    (["--rtol", "-1"], "--rtol"),
    (["--against", "does/not/exist"], "--against"),
    (["--profile", "ci"], "--against"),  # tables/ci is not committed: the message says what to pass
    (["--against", ".", "--write-reference", "out"], "--write-reference"),
    (["--repo", "/"], "--repo"),  # the later --repo wins: not a git repository
])
def test_argument_errors_name_the_field(repo, args, field, capsys):
    with pytest.raises(SystemExit) as exit_:
        verify.parse_args(["--repo", str(repo), *args])
    assert exit_.value.code == 2
    assert field in capsys.readouterr().err


def test_valid_arguments_default_to_the_committed_tables(repo):
    args = verify.parse_args(["--repo", str(repo)])
    assert (args.profile, args.cores, args.against) == ("default", 2, repo.resolve() / "tables/default")
    args = verify.parse_args(["--repo", str(repo), "--profile", "ci", "--write-reference", "ref"])
    assert args.against is None


def _fake_build(table: str, png: str = "png", ok: bool = True):
    """A stand-in for the Snakemake build: writes the profile's outputs into the copy."""
    def build(project, profile, cores):
        assert not (project / "tables" / profile).exists()  # the copy starts without them
        for name, text in ((f"tables/{profile}/table1.csv", table), (f"figures/{profile}/fig1.png", png)):
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_text(text)
        return ok, 12.3
    return build


@pytest.mark.parametrize("build, code, line", [
    (_fake_build("a\n1\n"), 0, "tables_ok=true figures_identical=1/1 build_seconds=12"),
    (_fake_build("a\n1\n", png="other"), 0, "tables_ok=true figures_identical=0/1"),
    (_fake_build("a\n2\n"), 1, "tables_ok=false figures_identical=1/1"),
    (_fake_build("a\n1\n", ok=False), 1, "tables_ok=false figures_identical=0/1"),
])
def test_main_compares_the_rebuilt_tables_and_figures(repo, monkeypatch, capsys, build, code, line):
    monkeypatch.setattr(verify, "build", build)
    assert verify.main(["--repo", str(repo)]) == code
    assert f"verify profile=default {line}" in capsys.readouterr().out


def test_strict_figures_fails_on_other_png_bytes(repo, monkeypatch):
    monkeypatch.setattr(verify, "build", _fake_build("a\n1\n", png="other"))
    assert verify.main(["--repo", str(repo), "--strict-figures"]) == 1


def test_write_reference_replaces_the_reference_tables(repo, monkeypatch, tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "stale.csv").write_text("old")
    monkeypatch.setattr(verify, "build", _fake_build("a\n7\n"))
    assert verify.main(["--repo", str(repo), "--write-reference", str(reference)]) == 0
    assert sorted(p.name for p in reference.iterdir()) == ["table1.csv"]
    assert (reference / "table1.csv").read_text() == "a\n7\n"
