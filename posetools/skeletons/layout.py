"""The :class:`SkeletonLayout` type and the helpers that build layouts from joint names.

A layout names the joints of a keypoint format, its left/right pairs (for
horizontal flips) and its limbs (skeleton edges, used for drawing and for limb
heatmap channels). Besides its own (``default``) limbs a layout may carry other
named limb sets as data (:attr:`SkeletonLayout.limb_sets`), e.g. the 17 COCO edges
mmaction2's limb models were trained on, in their channel order. Joint names use
one vocabulary across layouts (``left_hip``, ``right_wrist``...), so the same
anatomical joint has the same name everywhere it exists. "Left" is the subject's
left. The named layouts are in :mod:`posetools.skeletons.catalog`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class SkeletonLayout:
    """A named joint layout.

    The constructor checks self-consistency (unique names, indices in range,
    each joint in at most one flip pair, every limb set closed under mirroring)
    and raises ``ValueError`` otherwise.

    Attributes:
        name: Layout name (``coco17``...), as stored in artifacts.
        joints: Joint names, in order.
        flip_pairs: Left/right joint index pairs ``(left, right)``.
        limbs: Joint index pairs forming the skeleton edges (the ``default`` limb set).
            The first joint of a pair is the limb's *start*.
        limb_sets: Other named limb sets of this layout, name -> ordered joint
            index pairs (the order is the order of the limb heatmap channels).
            ``"default"`` is reserved for :attr:`limbs`.
    """

    name: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    limbs: tuple[tuple[int, int], ...]
    limb_sets: Mapping[str, tuple[tuple[int, int], ...]] = field(
        default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        k = len(self.joints)
        if len(set(self.joints)) != k:
            raise ValueError(f"{self.name}: joint names are not unique")
        seen: set[int] = set()
        for a, b in self.flip_pairs:
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(f"{self.name}: bad flip pair {(a, b)}")
            if a in seen or b in seen:
                raise ValueError(f"{self.name}: joint in two flip pairs {(a, b)}")
            seen.update((a, b))
        object.__setattr__(self, "limb_sets", MappingProxyType(
            {str(n): tuple((int(a), int(b)) for a, b in v) for n, v in self.limb_sets.items()}))
        if "default" in self.limb_sets:
            raise ValueError(f"{self.name}: limb set name 'default' is reserved for limbs")
        for limbs in (self.limbs, *self.limb_sets.values()):
            self.check_limbs(limbs)
            self.limb_flip_permutation(limbs)  # raises if limbs are not mirror-closed

    def __reduce__(self):
        """Pickle through the constructor (process pools, ``spawn`` workers).

        The read-only ``limb_sets`` view itself cannot be pickled.
        """
        return (SkeletonLayout, (self.name, self.joints, self.flip_pairs, self.limbs,
                                 dict(self.limb_sets)))

    @property
    def num_joints(self) -> int:
        """Number of joints ``K``."""
        return len(self.joints)

    def index(self, joint_name: str) -> int:
        """Index of a joint by name.

        Raises:
            ConfigError: The layout has no such joint.
        """
        try:
            return self.joints.index(joint_name)
        except ValueError:
            raise ConfigError(f"layout {self.name!r} has no joint {joint_name!r}") from None

    def flip_permutation(self) -> np.ndarray:
        """Joint permutation for a horizontal flip.

        Returns:
            ``(K,) int64`` ``perm`` such that ``flipped[..., j, :] = kp[..., perm[j], :]``
            (with x mirrored separately). It is an involution.
        """
        perm = np.arange(self.num_joints, dtype=np.int64)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def check_limbs(self, limbs: Sequence[Sequence[int]]) -> tuple[tuple[int, int], ...]:
        """Validate a limb list for this layout: index pairs in range, no loops, no duplicates.

        Returns:
            The limbs as a tuple of ``(int, int)`` pairs.

        Raises:
            ValueError: A pair is out of range, joins a joint to itself, or is listed twice.
        """
        k = self.num_joints
        out, edges = [], set()
        for pair in limbs:
            if len(pair) != 2:
                raise ValueError(f"{self.name}: a limb is a pair of joint indices, got {pair!r}")
            a, b = (int(v) for v in pair)
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(f"{self.name}: bad limb {(a, b)} (K={k})")
            key = frozenset((a, b))
            if key in edges:
                raise ValueError(f"{self.name}: duplicate limb {(a, b)}")
            edges.add(key)
            out.append((a, b))
        return tuple(out)

    def limb_set(self, name: str) -> tuple[tuple[int, int], ...]:
        """The limbs of a named limb set (``"default"``: :attr:`limbs`).

        Raises:
            ConfigError: The layout has no such limb set (the message lists its sets).
        """
        if name == "default":
            return self.limbs
        try:
            return self.limb_sets[name]
        except KeyError:
            known = ", ".join(["default", *sorted(self.limb_sets)])
            raise ConfigError(
                f"layout {self.name!r} has no limb set {name!r} (it has: {known})") from None

    def limb_flip_permutation(self, limbs: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """Limb permutation for a horizontal flip (for limb heatmap channels).

        Args:
            limbs: A limb list of this layout (default: :attr:`limbs`).

        Returns:
            ``(L,) int64`` ``perm`` where limb ``perm[l]`` is the mirror image of
            limb ``l`` (an involution; ``perm[l] == l`` for central limbs and for
            limbs joining a left/right pair, such as shoulder-shoulder).

        Raises:
            ValueError: The mirror image of a limb is not in the list.
        """
        limbs = self.limbs if limbs is None else [tuple(int(v) for v in p) for p in limbs]
        jperm = self.flip_permutation()
        where = {frozenset(limb): i for i, limb in enumerate(limbs)}
        out = np.empty(len(limbs), dtype=np.int64)
        for i, (a, b) in enumerate(limbs):
            j = where.get(frozenset((int(jperm[a]), int(jperm[b]))))
            if j is None:
                raise ValueError(f"{self.name}: mirror of limb {(a, b)} is not a limb of the "
                                 "list (a flipped limb channel would have no counterpart)")
            out[i] = j
        return out


def build_layout(
    name: str,
    joints: list[str],
    limbs_by_name: list[tuple[str, str]],
    extra_pairs: tuple[tuple[int, int], ...] = (),
    limb_sets_by_name: Mapping[str, list[tuple[str, str]]] | None = None,
) -> SkeletonLayout:
    """Make a layout; flip pairs come from ``left_*``/``right_*`` names plus ``extra_pairs``.

    Limbs (and the extra named limb sets) are given as joint-name pairs.
    """
    idx = {j: i for i, j in enumerate(joints)}
    pairs = [(i, idx["right_" + j[5:]]) for i, j in enumerate(joints) if j.startswith("left_")]

    def to_idx(edges: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
        return tuple((idx[a], idx[b]) for a, b in edges)

    sets = {k: to_idx(v) for k, v in (limb_sets_by_name or {}).items()}
    return SkeletonLayout(name, tuple(joints), tuple(pairs) + tuple(extra_pairs),
                          to_idx(limbs_by_name), sets)


def sides(*names: str) -> list[str]:
    """``("a", "b")`` -> ``["left_a", "right_a", "left_b", "right_b"]``."""
    return [f"{s}_{n}" for n in names for s in ("left", "right")]


def both_sides(*edges: tuple[str, str]) -> list[tuple[str, str]]:
    """Expand edges written with ``{s}`` into their left and right versions."""
    out = []
    for s in ("left", "right"):
        out.extend((a.format(s=s), b.format(s=s)) for a, b in edges)
    return out


def chain(names: list[str], closed: bool = False) -> list[tuple[str, str]]:
    """Edges joining consecutive names (and the last to the first when ``closed``)."""
    out = list(zip(names[:-1], names[1:], strict=True))
    if closed:
        out.append((names[-1], names[0]))
    return out
