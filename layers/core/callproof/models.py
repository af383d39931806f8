"""The base of every pydantic model in the layer.

``defer_build``: pydantic builds a model's validator when the model is first used, not when its
module is imported. A function imports its domain's every model but one request touches a few, so
building all of them at import was a large share of each cold start (issue 14; ADR 0013).

``json_schema_serialization_defaults_required``: an answer always carries every field of its model,
a field with a default included (``null`` when unset), so the OpenAPI document lists it as required
and a typed client never has to allow for it being absent (issue 18, point 4).
"""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_serialization_defaults_required=True)
