"""Normal and Student-t distribution functions from scipy.special.

scipy.stats takes about half a second to import; these few functions are all most statistics here need, so
`assay results` starts fast. (scipy.stats is imported only where its tests are used: correlations.)
"""

from __future__ import annotations

from scipy import special


def norm_ppf(p: float) -> float:
    return float(special.ndtri(p))


def norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def t_ppf(p: float, df: float) -> float:
    return float(special.stdtrit(df, p))


def t_sf(x: float, df: float) -> float:
    return float(special.stdtr(df, -x))
