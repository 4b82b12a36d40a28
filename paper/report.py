# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Replication report: Sagun et al. (2017), *Empirical Analysis of the Hessian of Over-Parametrized Neural Networks*
#
# Every figure and table of the paper, rebuilt by this project's workflow, beside the
# paper's claim, the quantity we measured to test it and the verdict. The verdicts are
# computed from the cached results by `rule claims` (thresholds and the reasons for them
# in `config/claims.yaml`); nothing on this page is typed by hand except the prose.
# This page is rendered by `rule report` as the last step of `make reproduce`
# (`paper/<profile>/report.html`).

# %% tags=["parameters"]
# the profile whose results this page shows; `rule report` sets it (and the settings below)
PROFILE = "default"
CONFIG_FILES = None  # the config files read, the last one winning; None: config/<PROFILE>.yaml
CHOICES = None  # the `choice` settings of the build: hessian_spectra.outputs.report.profile_choices
STAND_INS = None  # the data sets that stand in for the paper's: hessian_spectra.outputs.report.stand_ins
BUILT = None  # the figures and tables this build made (config `families`); None: every one

# %%
from pathlib import Path

import pandas as pd
from IPython.display import HTML, Image, Markdown, display

from hessian_spectra.outputs.batch_ablation import ablation_summary
from hessian_spectra.outputs.report import claims_for, figure_caption, table_caption

FIGURES, TABLES = Path("figures") / PROFILE, Path("tables") / PROFILE
CLAIMS = pd.read_csv(TABLES / "claims.csv")
pd.set_option("display.precision", 4)


def is_built(name: str) -> bool:
    """Whether this build made figure or table ``name``."""
    return BUILT is None or name in BUILT


def built(name: str) -> bool:
    """``is_built``, saying so where it was not."""
    if is_built(name):
        return True
    display(Markdown(f"*`{name}`: not built at this profile (its family is not in config `families`).*"))
    return False


def show_figure(name: str) -> None:
    """The figure (embedded) and its caption (``show_claims`` adds its claims)."""
    if not built(name):
        return
    display(Image(filename=str(FIGURES / f"{name}.png"), width=720))
    display(Markdown(f"*{figure_caption(name)}*"))


def show_claims(label: str) -> None:
    """The claims of one figure or table: claim, measured value, verdict."""
    rows = claims_for(CLAIMS, label)
    if len(rows):
        display(HTML(rows[["claim", "quantity", "value", "holds_if", "verdict"]]
                     .to_html(index=False, classes="claims", float_format="{:.4g}".format)))


def show_table(name: str, columns: list[str] | None = None) -> None:
    """A table of this profile (all its columns unless ``columns``) with its caption."""
    if not built(name):
        return
    table = pd.read_csv(TABLES / f"{name}.csv")
    display(Markdown(f"*{table_caption(TABLES / f'{name}.md')}*"))
    display(HTML((table[columns] if columns else table).to_html(index=False, float_format="{:.4g}".format)))


# text reads better left-aligned than in nbconvert's right-aligned table cells
display(HTML("<style>table.dataframe td, table.dataframe th {text-align: left !important;}</style>"))
CONFIG_NOTE = " over ".join(f"`{path}`" for path in reversed(CONFIG_FILES or [f"config/{PROFILE}.yaml"]))
display(Markdown(f"**Profile: `{PROFILE}`** (config {CONFIG_NOTE}). "
                 + (" ".join(STAND_INS) if STAND_INS else "The paper's data sets.")))

# %% [markdown]
# ## The verdicts at a glance
#
# One row per claim of `config/claims.yaml`: the figure it belongs to, the claim in one
# sentence, the quantity measured, its value here, the thresholds and the verdict
# ("holds", "partly holds", "does not hold", or "not measured" where this profile did not
# build the inputs). The tolerance is how far the value may move on another machine
# (measured: `config/tolerances/<profile>.csv`); where a threshold lies within it the
# verdict is "borderline" and names the verdicts on both sides, so that no machine
# reverses a verdict printed here.

# %%
display(HTML(CLAIMS[["figure", "claim", "quantity", "value", "tolerance", "holds_if", "partly_if", "verdict"]]
             .to_html(index=False, table_id="claims", float_format="{:.4g}".format)))

# %% [markdown]
# ## Family A: Gaussian clusters (Fig. 1-3, Table 1)
#
# A 100-30-30-k net on k Gaussian clusters, trained by gradient descent or SGD until the
# full-batch gradient norm is small. **The claims:** the spectrum is a bulk at zero and a
# few outliers, at the start and the end (Fig. 1); the Hessian is close to its
# Gauss-Newton part G at the end (Fig. 1b); the number of outliers equals the number of
# classes (Fig. 3, Table 1).

# %%
for name, label in (("fig1_full_spectrum", "Fig. 1"), ("fig1b_gauss_newton_split", "Fig. 1b"),
                    ("fig2_cluster_pca", "Fig. 2"), ("fig3_cluster_spectra", "Fig. 3")):
    display(Markdown(f"### {label}"))
    show_figure(name)
    show_claims(label)
display(Markdown("### Table 1"))
show_table("table1")

# %% [markdown]
# **Where our numbers differed from the paper's, and why (measured).** With the authors'
# code's stopping tolerance (gradient norm 1e-4) our Table 1 means sat 3-10x below the
# paper's. The fidelity ablation below retrains the GD ReLU cov-1 runs one setting at a
# time: the tolerance alone sets the scale (median |log10(ours/paper)| 0.94 at 1e-4, 0.003
# at 1e-3 on the default profile), the initialisation and N move the mean by at most 7%.
# Why: near a minimum H is about G, whose weights p(1 - p) shrink with the loss, and
# lambda_1 / train loss stays at 31-40 along training (Fig. 11). So the paper's Table 1
# looks like runs stopped near 1e-3; we stop there (a `choice`, stated below). SGD stops at
# the first step whose own mini-batch gradient norm is under the tolerance
# (`benchmarks/fidelity/sgd_stop_rule.py`: the closest of three rules to the paper's means in every
# row tried). What stays apart is SGD at cov 10 (means 0.35-0.68 of the paper's at k = 5-20):
# the paper's cov-10 means are not monotone in k while ours grow with k like every other
# group's; we do not tune per row. Details and all numbers: `paper/README.md`, "Fidelity".

# %%
show_table("fidelity_ablation")

# %% [markdown]
# ## Family B: width (Fig. 4-6)
#
# One hidden layer of width n; the same data, steps and step size for every width.
# **The claims:** the large positive eigenvalues do not move with the number of
# parameters M (Fig. 4); the negative part grows in proportion to M, a constant fraction
# of the eigenvalues (Fig. 5, 6).

# %%
for name, label in (("fig4_width_right_edge", "Fig. 4"), ("fig5_width_left_edge_count", "Fig. 5"),
                    ("fig6_width_left_edge_fraction", "Fig. 6")):
    display(Markdown(f"### {label}"))
    show_figure(name)
    show_claims(label)
show_table("width_scaling")

# %% [markdown]
# **The size of the negative fraction.** The paper shows about 1% of the eigenvalues
# negative. That follows from the net's shape: in a one-hidden-layer ReLU net, R couples
# each hidden unit's C output weights with its input weights through softmax residuals
# that sum to zero over the classes, so R has at most (C - 1) n negative eigenvalues, and
# adding the positive semi-definite G adds none. With M = (d + 1) n + C n + C parameters
# the fraction is at most (C - 1) n / M, 9 n / M with 10 classes: 1.13% for 784-pixel
# images, about 12% for the 64-pixel digits (the `ci` profile's stand-in). Measured at
# the `default` profile on real MNIST (mnist_5k): 53, 72 and 90 negative eigenvalues at
# n = 6, 8, 10 (1.11%, 1.13%, 1.13%; the bound is 54, 72, 90); on the paper profile with
# Fashion-MNIST (28x28, a 2-core machine): exactly 90, 270, 450 and 630 at n = 10, 30, 50,
# 70, **1.13% at every width** (`paper/README.md`). Training length does not move it (the
# fraction is flat along training, table below).
#
# **The top eigenvalues at `default`.** Over widths 6-10 (M grows 1.7-fold, not the
# paper's 7-fold) lambda_1 falls as the net widens (1.19, 0.52, 0.42): nothing grows with
# M, but the claim's quantity, largest over smallest lambda_1, is 2.8, over the 2 that
# "holds" asks, so the verdict reads "partly holds". The narrowest net also ends with the
# highest train loss after the same 5,000 steps (2.4e-3 at width 6 against 7.8e-4 at
# width 10), and near a minimum H is about G, whose weights p(1 - p) follow the loss.
#
# Where the dense matrix does not fit (`spectrum.method: auto`), ReLU nets get every
# eigenvalue through the Hessian's range (method `range`, exact); other nets get the
# negative part estimated by stochastic Lanczos quadrature, drawn dashed with its
# interval, and printed as unresolved where the quadrature cannot place the eigenvalues
# next to zero; the tables say which method each number came from (`negative_method`).

# %%
show_figure("fig_negative_fraction_along_training")
show_table("negative_fraction")

# %% [markdown]
# ## Family C: batch size (Fig. 7, 8)
#
# A small convnet trained with a small and a large batch, the same step size and steps.
# **The claims:** both end with the same number of large eigenvalues, larger for the large
# batch (Fig. 7); the negative eigenvalues are orders of magnitude smaller than the large
# ones and sit at similar levels for both (Fig. 8).

# %%
for name, label in (("fig7_batch_top_eigenvalues", "Fig. 7"), ("fig8_batch_negative_eigenvalues", "Fig. 8")):
    display(Markdown(f"### {label}"))
    show_figure(name)
    show_claims(label)
show_table("batch_size")

# %% [markdown]
# ### What sets Family C's scale: step size and training length (ours)
#
# The paper gives neither Family C's step size nor its number of steps ("a learning rate
# for which both algorithms converge", "the same number of iterations"), and the Fig. 7
# claims are about the end point of that schedule. The batch ablation trains every batch
# size at each step size of `batch_ablation.lrs` (the cell at Family C's own step size is
# Family C's run) and follows the spectrum's edges (Lanczos: the k largest and smallest
# eigenvalues) at log-spaced checkpoints. The first table applies the paper's procedure
# per step size: the first checkpoint at which each batch size fits its training set
# (100% train accuracy), whether both do, the steps both need, and at the last checkpoint
# lambda_1 of each and their ratio.

# %%
show_figure("fig_batch_ablation")
if is_built("batch_ablation"):
    display(HTML(ablation_summary(pd.read_csv(TABLES / "batch_ablation.csv"))
                 .to_html(index=False, float_format="{:.4g}".format)))
show_table("batch_ablation", ["lr", "batch_size", "step", "train_loss", "train_accuracy", "test_accuracy",
                              "lambda_1", "lambda_2", "lambda_3", "most_negative", "sharper_by", "gap", "ratio"])

# %% [markdown]
# **What it shows at `default`** (digits, 5,000 steps, checkpoints 0, 6, 56, 562, 5,000).
# All three step sizes, 0.025, 0.05 and 0.1, let both batch sizes fit the 1,078 training
# digits by the last checkpoint (at step 562 they stand at 84-99.7%), so the paper's
# procedure admits all three, and what Fig. 7 shows depends on which one is taken. The
# large batch ends sharper at every step size, by a factor that grows with it (lambda_1
# of batch 512 over batch 10: 3.5, 7.0, 8.1); the two end with the same ratio count (9)
# only at 0.05 (batch 10 counts 4 at 0.025 and 5 at 0.1), so the `batch_same_outliers`
# verdict holds at this profile's step size but not across the admissible ones. Along
# training the numbers move more than between step sizes: lambda_1 rises from 0.55 at
# the initial point to 5.9-43 at step 562 (train loss 0.02-0.5) and falls 3-41-fold as
# the loss goes to 2e-4 - 3e-3; the factor between the batch sizes grows the whole way
# (1.0-1.6 up to step 56, 1.3-2.7 at step 562, 3.5-8.1 at the end), and the most negative
# eigenvalue shrinks from 60% of lambda_1 at the initial point to 0.05-1% at the end. The
# Lanczos lambda_1 at Family C's end points equals the exact spectrum's in the table
# above (4.62 and 0.664). The profile keeps Family C's step size 0.05 and 5,000 steps
# (chosen before this ablation; the procedure admits it). On real MNIST at the paper's
# size (mnist_5k, the 31,770-parameter convnet, 3,000 steps) the same holds: both batch
# sizes fit at every step size, the large batch ends 9.6, 14.3 and 14.6 times sharper at
# 0.025, 0.05 and 0.1, and the ratio counts agree at 0.025 only (9 and 9; 8 and 9; 2 and
# 8): `paper/README.md`, "What sets Family C's scale".

# %% [markdown]
# ## Family D: the batch switch (Fig. 9, 10)
#
# Part I trains with a large batch (1,000), Part II continues from its end with a small
# one (32); then the loss on the straight line through both end points. **The claims:**
# the losses jump when the batch shrinks and the small batch ends slightly better
# (Fig. 9); no barrier lies between the two end points (Fig. 10).

# %%
for name, label in (("fig9_batch_switch", "Fig. 9"), ("fig10_interpolation", "Fig. 10")):
    display(Markdown(f"### {label}"))
    show_figure(name)
    show_claims(label)
show_table("batch_switch")

# %% [markdown]
# **Why no jump on digits (measured).** At the end of Part I the net has interpolated the
# 1,078 training digits (100% train accuracy, train loss 8e-4 at the `default` profile), so
# even batch-32 gradients are small: their mean norm is 0.048 against 0.0045 for batches
# of 1,000 (0.35 and 0.12 at the initial point; `benchmarks/fidelity/switch_gradient_noise.py`), and
# a step of 0.05 x 0.048 does not lift a loss of 8e-4. The paper's CIFAR10 run evidently
# ended Part I above zero training loss; the `paper` profile runs CIFAR10 (36 CPU-hours by
# `benchmarks/scale/switch_speed.py`; not run here).

# %% [markdown]
# ## Beyond the paper: the spectrum along training (Fig. 11) and Appendix B
#
# Fig. 11 follows the Fig. 1 run's spectrum along training: the scale of the outliers
# follows the loss, their count settles at the number of classes once the loss is small.
# Appendix B checks the Gauss-Newton part of a linear softmax model against the
# Marchenko-Pastur law and its BBP outlier.

# %%
show_figure("fig11_spectrum_along_training")
show_table("along_training")
show_figure("figB_marchenko_pastur")

# %% [markdown]
# ## Choices where the paper is silent
#
# Every setting marked `choice` in the profile's config file, with the value this build
# used and the comment that says why (or where it was measured).

# %%
display(HTML(pd.DataFrame(CHOICES).to_html(index=False, table_id="choices")))

# %% [markdown]
# ## Rebuild and check
#
# - Everything: `make reproduce PROFILE=<ci|default|paper>`; one figure:
#   `make figures/<profile>/<name>.pdf`; Snakemake reruns only what a change touches.
# - The tests (`make test`) build the `ci` profile end to end twice and compare its tables
#   byte for byte and with `tests/reference/ci/`; `make verify` rebuilds the `default`
#   profile from scratch in a temporary copy and compares its tables with the committed
#   ones.
# - Snakemake's own report of the same figures and tables:
#   `snakemake --report report.zip --configfile config/<profile>.yaml`.
