"""Helpers the scikit-learn estimators of mirror_kit share: fitted-state checks, input validation, reset.

The estimators (`PatternModel`, `TensionScorer`) follow scikit-learn's estimator contract
(https://scikit-learn.org/stable/developers/develop.html); these helpers translate scikit-learn's
exceptions into mirror_kit's own so the CLI reports them as one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as _SkNotFittedError

from .errors import InvalidInputError


class ModelNotFittedError(InvalidInputError, _SkNotFittedError):
    """An estimator was used before `fit`: both mirror_kit's InvalidInputError and sklearn's NotFittedError."""


class InvalidInputTypeError(InvalidInputError, TypeError):
    """Input of a type an estimator cannot use (e.g. objects that are not numbers)."""


def reset_fitted(estimator: Any) -> None:
    """Forget everything an earlier `fit` learned: delete attributes ending in `_` (not dunders).

    Called first thing in `fit`, so no learned state survives from an earlier fit on other data.
    """
    for name in [n for n in vars(estimator) if n.endswith("_") and not n.startswith("__")]:
        delattr(estimator, name)


def require_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise ModelNotFittedError (an sklearn NotFittedError) naming the class when `fit` has not run."""
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator, attributes)
    except _SkNotFittedError:
        raise ModelNotFittedError(
            f"{type(estimator).__name__} is not fitted: call fit() before using it"
        ) from None


def validated(estimator: Any, X: Any, *, reset: bool, dtype: Any = np.float64, name: str = "embeddings") -> np.ndarray:
    """X as a finite, non-empty, dense 2-D array (n, d), checked against `n_features_in_` unless `reset`.

    Uses scikit-learn's `validate_data`; its ValueError/TypeError become InvalidInputError (same message).
    Raises: InvalidInputError (InvalidInputTypeError for TypeErrors) for sparse, 1-D, empty, NaN/inf input or a width that differs from fit.
    """
    from sklearn.utils.validation import validate_data

    if (not reset and type(X) is np.ndarray and X.ndim == 2 and X.shape[0] >= 1 and X.dtype.kind in "fiu"
            and X.shape[1] == getattr(estimator, "n_features_in_", None) and not hasattr(estimator, "feature_names_in_")):
        # A plain numeric array of the fitted width (what the services pass, several times per
        # call): `validate_data` would give back the same array, at ~1 ms a call (it looks for a
        # dataframe library first). Anything else (non-finite values, a model fitted on named
        # columns, ...) goes through it for its checks, warnings and messages.
        out = X.astype(dtype, copy=False)
        if np.isfinite(out).all():
            return out
    try:
        return validate_data(estimator, X, reset=reset, dtype=dtype, ensure_min_samples=1)
    except TypeError as exc:
        raise InvalidInputTypeError(f"{name}: {_one_line(exc)}") from None
    except ValueError as exc:
        raise InvalidInputError(f"{name}: {_one_line(exc)}") from None


def _one_line(exc: Exception) -> str:
    # scikit-learn spreads its message (and a summary of the array) over lines; a user gets one line
    return " ".join(str(exc).split()) or type(exc).__name__
