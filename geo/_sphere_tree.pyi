"""Types of the C extension geo/_sphere_tree.c: exact great-circle k-nearest search on unit vectors."""

import numpy as np
from numpy.typing import NDArray

class SphereTree:
    """A k-d tree on unit vectors ((n, 3) float64); distances come back as ``scale * asin(chord / 2)``."""

    size: int
    nbytes: int

    def __init__(self, vectors: NDArray[np.float64], leafsize: int = 16, scale: float = 2.0) -> None: ...
    def nearest(
        self, lon: float, lat: float, k: int, bound: float, index: NDArray[np.intp], metres: NDArray[np.float64]
    ) -> int: ...
    def nearest_many(
        self, vectors: NDArray[np.float64], k: int, index: NDArray[np.intp], metres: NDArray[np.float64]
    ) -> None: ...
