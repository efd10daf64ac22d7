#!/usr/bin/env python3
"""Writes the small .npy files under Tests/Fixtures/npy with NumPy itself (run once)."""
import numpy as np
from numpy.lib import format as npformat

out = "Tests/Fixtures/npy/"
m = np.arange(12, dtype=np.float32).reshape(3, 4) / 4 - 1
np.save(out + "f4.npy", m)
np.save(out + "f8.npy", m.astype(np.float64))
np.save(out + "fortran.npy", np.asfortranarray(m))
np.save(out + "big-endian.npy", m.astype(">f4"))
np.save(out + "int32.npy", m.astype(np.int32))
np.save(out + "one-d.npy", m.ravel())
with open(out + "v2.npy", "wb") as f:
    npformat.write_array(f, m, version=(2, 0))
with open(out + "f8-overflow.npy", "wb") as f:
    a = m.astype(np.float64); a[1, 2] = 1e300; np.save(f, a)
with open(out + "nan.npy", "wb") as f:
    a = m.copy(); a[2, 0] = np.nan; np.save(f, a)
