"""newsalert: a Telegram news-alert bot."""

import os

# One BLAS thread: the products here are small (an article's vector against a few thousand
# phrase or story vectors, ~0.1 ms on one core), and OpenBLAS's thread pool on a shared
# 2-core machine makes the same product take 10-15 ms.  Set before numpy is first imported
# (the operator's own setting wins).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

__version__ = "0.1.0"
