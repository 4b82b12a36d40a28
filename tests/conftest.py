import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
# The test problems are tiny: one thread is as fast, and it does not spin against the
# Snakemake jobs that the workflow tests start.
torch.set_num_threads(1)
