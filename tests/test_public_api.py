"""The public toolkit as the README writes it (section "The Hessian toolkit on your own
model"), run on a small net, and the promise that the top-level package imports lazily:
``import hessian_spectra`` (and the config layer) import no torch."""

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import hessian_spectra
from cases import ROOT


def readme_toolkit_block() -> str:
    """The first python block of the README's toolkit section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The Hessian toolkit on your own model", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_readme_block_runs_against_torch_func_hessian():
    """The README's lines, unchanged, on a tiny MLP; the dense Hessian they build is checked
    against torch.func.hessian of the same loss."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 5)).double()  # M = 133 > window
    inputs, targets = torch.randn(40, 10, dtype=torch.float64), torch.arange(40) % 5
    scope = {"model": model, "inputs": inputs, "targets": targets}
    exec(readme_toolkit_block(), scope)
    params = dict(model.named_parameters())

    def loss(flat):
        pieces, start = {}, 0
        for name, p in params.items():
            pieces[name] = flat[start:start + p.numel()].view_as(p)
            start += p.numel()
        logits = torch.func.functional_call(model, pieces, (inputs,))
        return nn.functional.cross_entropy(logits, targets)

    flat = torch.cat([p.detach().reshape(-1) for p in params.values()])
    reference = torch.func.hessian(loss)(flat)
    torch.testing.assert_close(scope["H"], reference, rtol=1e-5, atol=1e-8)
    assert np.all(np.diff(scope["values"]) >= 0)
    torch.testing.assert_close(scope["split"].gauss_newton + scope["split"].residual, scope["split"].hessian)


def test_readme_block_imports_from_the_top_level_package():
    """Every name the README's block imports comes from ``hessian_spectra`` itself."""
    imports = re.findall(r"^from (\S+) import (.+)$", readme_toolkit_block(), re.M)
    assert imports and all(module == "hessian_spectra" for module, _ in imports)


def test_every_name_the_section_calls_on_the_package_is_public():
    """``hessian_spectra.range_eigenvalues(...)``, ``hessian_spectra.hessian_edges(...)``, ...:
    the section's text names them on the package itself."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The Hessian toolkit on your own model", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"hessian_spectra\.(\w+)\b(?!\.)", section))
    assert {"range_eigenvalues", "hessian_edges", "HessianOperator", "edge_eigenvalues"} <= named
    assert named <= set(hessian_spectra.__all__)


@pytest.mark.parametrize("name", hessian_spectra.__all__)
def test_public_names_resolve_to_their_modules(name):
    value = getattr(hessian_spectra, name)
    assert value.__module__.startswith("hessian_spectra.")
    assert name in dir(hessian_spectra)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        hessian_spectra.not_a_name  # noqa: B018


@pytest.mark.parametrize("module", ["hessian_spectra", "hessian_spectra.config.file", "hessian_spectra.config.schema",
                                    "hessian_spectra.config.specs", "hessian_spectra.config.sizes",
                                    "hessian_spectra.data", "hessian_spectra.data.sources",
                                    "hessian_spectra.spectra.counts", "hessian_spectra.pipeline.jobs"])
def test_light_modules_import_no_torch(module):
    """The top-level package, the config layer and the parse-time modules stay cheap: the
    Snakefile imports them for every job."""
    code = f"import sys, {module}; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
