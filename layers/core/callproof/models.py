"""The base of every pydantic model in the layer.

``defer_build``: pydantic builds a model's validator when the model is first used, not when its
module is imported. A function imports its domain's every model but one request touches a few, so
building all of them at import was a large share of each cold start (issue 14; ADR 0013).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
