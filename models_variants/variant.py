"""The axes registry and `Variant`: one value per axis, parsed from and printed as text."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, fields

from models_variants import audio_storage, deletion, loading, sync_flag, timestamps
from models_variants.axis import Axis, AxisValue

# Ordered; the first value of each axis is the baseline (the model as reviewed).
AXES: dict[str, Axis] = {axis.name: axis for axis in (
    Axis.of("loading", loading.VALUES),
    Axis.of("sync_flag", sync_flag.VALUES),
    Axis.of("deletion", deletion.VALUES),
    Axis.of("audio_storage", audio_storage.VALUES),
    Axis.of("timestamps", timestamps.VALUES),
)}


@dataclass(frozen=True)
class Variant:
    loading: str = AXES["loading"].baseline
    sync_flag: str = AXES["sync_flag"].baseline
    deletion: str = AXES["deletion"].baseline
    audio_storage: str = AXES["audio_storage"].baseline
    timestamps: str = AXES["timestamps"].baseline

    def __post_init__(self) -> None:
        for axis, value in self.as_dict().items():
            if value not in AXES[axis].values:
                raise ValueError(f"unknown {axis} value {value!r}; valid: {_valid(axis)}")

    @classmethod
    def parse(cls, text: str) -> Variant:
        """'loading=selectin,sync_flag=bool_column' (unnamed axes stay at baseline).

        'baseline' or '' is the baseline; a bare value ('selectin') names its own axis, since
        value names are unique across axes.
        """
        chosen: dict[str, str] = {}
        for item in (part.strip() for part in text.split(",")):
            if item in ("", "baseline"):
                continue
            axis, sep, value = item.partition("=")
            if not sep:
                axis, value = _axis_of(item), item
            axis, value = axis.strip(), value.strip()
            if axis not in AXES:
                raise ValueError(f"unknown axis {axis!r}; valid: {', '.join(AXES)}")
            if axis in chosen:
                raise ValueError(f"axis {axis!r} given twice in {text!r}")
            chosen[axis] = value
        return cls(**chosen)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def values(self) -> dict[str, AxisValue]:
        return {axis: AXES[axis].values[value] for axis, value in self.as_dict().items()}

    def changed(self) -> dict[str, str]:
        return {axis: value for axis, value in self.as_dict().items() if value != AXES[axis].baseline}

    @property
    def label(self) -> str:
        changed = self.changed()
        return ",".join(f"{axis}={value}" for axis, value in changed.items()) or "baseline"

    @property
    def slug(self) -> str:
        return "_".join(self.changed().values()) or "baseline"

    @classmethod
    def along(cls, axis: str) -> list[Variant]:
        """Every value of one axis, the others at baseline (the baseline itself first)."""
        if axis not in AXES:
            raise ValueError(f"unknown axis {axis!r}; valid: {', '.join(AXES)}")
        return [cls(**{axis: value}) for value in AXES[axis].values]

    @classmethod
    def full_grid(cls) -> list[Variant]:
        names = [field.name for field in fields(cls)]
        return [cls(**dict(zip(names, combo)))
                for combo in itertools.product(*(AXES[name].values for name in names))]


def _valid(axis: str) -> str:
    return ", ".join(AXES[axis].values)


def _axis_of(value: str) -> str:
    for axis in AXES.values():
        if value in axis.values:
            return axis.name
    valid = "; ".join(f"{name}: {_valid(name)}" for name in AXES)
    raise ValueError(f"unknown value {value!r}; valid {valid}")


BASELINE = Variant()
