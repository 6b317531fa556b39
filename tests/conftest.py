import os
import sys

# Tests pin one BLAS thread, for torch too, so comparisons are like for like.
os.environ.setdefault("LAYERWISE_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

torch.set_num_threads(1)
