"""The ``[tracking]`` table: where a study or a guide is also logged (MLflow, TensorBoard)."""

from __future__ import annotations

from pydantic import Field

from tunelab.config._names import _Section

__all__ = ["TrackingConfig"]


class TrackingConfig(_Section):
    """Trackers a study or guide logs to, besides its run folder.

    Example:
        >>> TrackingConfig(mlflow="http://127.0.0.1:5000").experiment
        'tunelab'
    """

    mlflow: str | None = Field(None, description="an MLflow tracking URI (http://..., sqlite:///...)")
    experiment: str = Field("tunelab", description="the MLflow experiment")
    tensorboard: str | None = Field(None, description="a TensorBoard log folder")
