"""Runtime fields never change a fingerprint; every other config field does.

Walks every leaf field of a full pipeline config, changes it to another valid value and
compares every stage's semantic parameters (what the fingerprint covers besides the
inputs and the model checksum) before and after.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal, get_args, get_origin

import pytest

from posetools.config.loader import from_dict, role
from posetools.config.models import IMPORT_FIELDS
from posetools.config.schema import STAGE_ORDER, PipelineConfig
from posetools.stages import build_stage

BASE = from_dict(PipelineConfig, {
    "stages": list(STAGE_ORDER),
    "detect": {"detector": {"backend": "hog"}},
    "estimate": {"experts": [
        {"name": "blazepose", "backend": "mediapipe"},
        {"name": "openpose", "backend": "import", "format": "coco_results",
         "path": "/data/{video_id}.json", "annotations": "/data/{video_id}_gt.json"},
    ]},
})
IMPORT_ONLY = set(IMPORT_FIELDS)
"""Fields of ``backend: import`` only: on the mediapipe expert every other value is rejected."""


def optional_dataclass(tp: Any) -> type | None:
    """``X`` for a field type ``X | None`` where ``X`` is a dataclass, else ``None``."""
    args = get_args(tp)
    inner = [a for a in args if a is not type(None)]
    if type(None) in args and len(inner) == 1 and dataclasses.is_dataclass(inner[0]):
        return inner[0]
    return None


def leaves(obj: Any, path: tuple = ()):
    """``(path, field, type)`` of every non-dataclass field, descending into tuples of
    dataclasses and into optional dataclass sections (``refine: RefineConfig | None``:
    the section itself, switched on/off, and each of its fields, with it switched on)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        opt = optional_dataclass(hints[f.name])
        if opt is not None:
            yield (*path, f.name), f, hints[f.name]
            yield from leaves(v if v is not None else opt(), (*path, f.name))
        elif dataclasses.is_dataclass(v):
            yield from leaves(v, (*path, f.name))
        elif isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]):
            for i, item in enumerate(v):
                yield from leaves(item, (*path, f.name, i))
        elif path and f.name not in ("stages",):
            yield (*path, f.name), f, hints[f.name]


def switch_on_sections(cfg: Any, path: tuple) -> Any:
    """``cfg`` with every optional section above ``path`` that is ``None`` set to its
    defaults, so the field at ``path`` exists and takes effect."""
    for n in range(1, len(path)):
        if get_at(cfg, path[:n]) is None:
            parent = get_at(cfg, path[:n - 1])
            tp = typing.get_type_hints(type(parent))[path[n - 1]]
            cfg = replace_at(cfg, path[:n], optional_dataclass(tp)())
    return cfg


def replace_at(obj: Any, path: tuple, value: Any) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(obj, tuple):
        items = list(obj)
        items[head] = replace_at(items[head], rest, value) if rest else value
        return tuple(items)
    cur = getattr(obj, head)
    return dataclasses.replace(obj, **{head: replace_at(cur, rest, value) if rest else value})


def get_at(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p] if isinstance(obj, tuple) else getattr(obj, p)
    return obj


def candidates(tp: Any, value: Any) -> list:
    """Other values of the field's type, most plausible first."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return [a for a in args if a != value]
    if optional_dataclass(tp) is not None:  # an optional section: switch it on / off
        return [optional_dataclass(tp)()] if value is None else [None]
    if type(None) in args:  # Optional
        inner = [a for a in args if a is not type(None)][0]
        if value is None and get_origin(inner) is tuple:
            return [((0, 5), (0, 6))]
        if value is None and get_origin(inner) is Literal:
            return list(get_args(inner))
        return (["blazepose", "other.pth", r"(\d+)\.json", "coco17", "cuda"] if value is None
                else [None, *candidates(inner, value)])
    if tp is bool:
        return [not value]
    if tp is int:
        return [value + 1, value - 1, value + 2]  # + 2: fields that must stay even
    if tp is float:
        return [round(value + 0.05, 6), round(value - 0.05, 6), value + 1.0]
    if tp is str:
        return ["h36m17", "halpe26", "other", "cuda"] if value else ["x"]
    raise AssertionError(f"no candidate values for type {tp!r}")


def stage_params(cfg: PipelineConfig) -> dict[str, Any]:
    return {name: build_stage(name, cfg).params() for name in STAGE_ORDER}


FIELDS = list(leaves(BASE))

CONTEXT = {
    ("aggregate", "neck"): (("aggregate", "layout"), "halpe26"),  # coco17 has no neck joint
    ("heatmaps", "joints"): (("heatmaps", "limbs"), True),  # at least one of joints/limbs
    ("heatmaps", "limb_set"): (("heatmaps", "limbs"), True),
    ("heatmaps", "limb_pairs"): (("heatmaps", "limbs"), True),
}
"""Fields whose other values are valid only with another field changed first."""

TOGETHER = {
    ("estimate", "experts", 1, "backend"): {"format": None, "path": "", "annotations": None},
    ("estimate", "experts", 1, "format"): {"annotations": None},
}
"""Fields of the import expert whose other values need sibling fields changed with them."""

REJECTED = {("estimate", "experts", 1, "top_down"), ("detect", "detector", "precision"),
            ("estimate", "experts", 0, "precision"), ("estimate", "experts", 1, "precision")}
"""Fields with no valid other value in this context (imported poses use no boxes; HOG,
MediaPipe and imports have no fp16; see :func:`test_precision_is_semantic_where_it_runs`)."""


@pytest.mark.parametrize("path, field, tp", FIELDS, ids=[".".join(map(str, p)) for p, *_ in FIELDS])
def test_runtime_fields_keep_and_other_fields_change_the_fingerprint(path, field, tp):
    base = switch_on_sections(BASE, path)
    if path[:3] == ("estimate", "experts", 0) and path[3] in IMPORT_ONLY:
        for value in candidates(tp, get_at(base, path)):
            with pytest.raises(ValueError, match="only used with backend: import"):
                replace_at(base, path, value)
        return
    if path in REJECTED:
        for value in candidates(tp, get_at(base, path)):
            with pytest.raises(ValueError):
                replace_at(base, path, value)
        return
    if path in CONTEXT:
        base = replace_at(base, *CONTEXT[path])
    before = stage_params(base)
    for value in candidates(tp, get_at(base, path)):
        try:
            if path in TOGETHER:  # siblings and the value are validated together
                parent = dataclasses.replace(get_at(base, path[:-1]),
                                             **{**TOGETHER[path], path[-1]: value})
                changed = replace_at(base, path[:-1], parent)
            else:
                changed = replace_at(base, path, value)
        except ValueError:  # not a valid value for this field: try the next one
            continue
        break
    else:
        pytest.fail(f"{path}: no valid alternative value")
    after = stage_params(changed)
    if role(field) == "semantic":
        assert after != before, f"{'.'.join(map(str, path))} is semantic but no fingerprint moved"
    else:
        assert after == before, f"{'.'.join(map(str, path))} is {role(field)} but changed params"


def test_every_section_field_is_covered():
    names = {".".join(map(str, p)) for p, *_ in FIELDS}
    assert {"video.prefetch", "heatmaps.chunk_frames", "estimate.experts.0.device",
            "estimate.experts.0.checkpoint", "detect.detector.batch_size", "aggregate.gamma",
            "normalize.scale", "estimate.track.max_persons", "probe.brightness",
            "aggregate.refine", "aggregate.refine.cutoff_hz",
            "aggregate.refine.butter_order"} <= names


def test_precision_is_semantic_where_it_runs():
    cfg = from_dict(PipelineConfig, {
        "stages": ["detect", "estimate"], "detect": {"detector": {"backend": "mm"}},
        "estimate": {"experts": [{"name": "rtm", "backend": "mm", "top_down": True}]}})
    before = stage_params(cfg)
    assert "precision" not in before["estimate"]["experts"][0]  # fp32: fingerprints as before
    assert "precision" not in before["detect"]["detector"]
    half = replace_at(replace_at(cfg, ("estimate", "experts", 0, "precision"), "fp16"),
                      ("detect", "detector", "precision"), "fp16")
    after = stage_params(half)
    assert after["estimate"]["experts"][0]["precision"] == "fp16"
    assert after["detect"]["detector"]["precision"] == "fp16"
