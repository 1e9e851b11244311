"""Parallel variants of the reviewed session models, one value per axis.

    from models_variants import AXES, BASELINE, Variant, build_models
    models = build_models(Variant.parse("loading=selectin"), schema="sb_x_selectin")
"""

from models_variants.axis import Axis, AxisValue, UnsupportedByVariant
from models_variants.factory import ModelSet, build_models
from models_variants.variant import AXES, BASELINE, Variant

__all__ = ["AXES", "BASELINE", "Axis", "AxisValue", "ModelSet", "UnsupportedByVariant", "Variant",
           "build_models"]
