"""Class labels -> integer ids: the one rule every consumer uses (pyskl export, torch datasets).

* Integer labels (a JSONL number, or a CSV cell that looks like an integer, which
  :func:`~posetools.io.manifest.load_manifest` parses as an ``int``) are the ids.
* String labels get ids only from an explicit class list: a label map file (one
  class name per line, line ``i`` (0-based) = id ``i``; :func:`read_label_map`) or
  names given in code. A string label missing from the list is an error.
* Without a class list, string labels are an error, unless the caller opts in to
  numbering them in sorted string order (``sort_strings``) -- which then says so
  (:attr:`LabelIds.rule`), because sorted strings are rarely the dataset's own
  class order (``"10"`` sorts before ``"9"``).

Labels never change silently: every problem is reported at once, with the videos
it concerns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ManifestError

Label = int | str | None


@dataclass(frozen=True)
class LabelIds:
    """Ids of a list of labels, and how they were obtained.

    Attributes:
        ids: One id per label, ``-1`` where the label is ``None``.
        names: Class names in id order (the label map, or the sorted string
            labels), or ``None`` for integer labels without a map.
        rule: ``"integers"``, ``"label map"`` or ``"sorted strings (opt-in)"``.
    """

    ids: tuple[int, ...]
    names: tuple[str, ...] | None
    rule: str


def read_label_map(path: str | Path) -> list[str]:
    """Read a label map: one class name per line, the line number (from 0) is the id.

    Surrounding whitespace is stripped and trailing empty lines are ignored; an
    empty line between names or a name listed twice is an error.

    Raises:
        ManifestError: The file is missing or malformed.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ManifestError([f"cannot read the label map: {e}"], source=str(path)) from None
    while lines and not lines[-1].strip():
        lines.pop()
    names = [ln.strip() for ln in lines]
    problems = [f"line {i + 1}: empty class name" for i, n in enumerate(names) if not n]
    first: dict[str, int] = {}
    for i, n in enumerate(names):
        if n and n in first:
            problems.append(f"line {i + 1}: {n!r} already at line {first[n] + 1}")
        first.setdefault(n, i)
    if not names:
        problems.append("no class names")
    if problems:
        raise ManifestError(problems, source=str(path))
    return names


def assign_label_ids(
    labels: Sequence[Label],
    *,
    names: Sequence[str] | None = None,
    sort_strings: bool = False,
    videos: Sequence[str] | None = None,
) -> LabelIds:
    """Map labels to ids with the rule of the module docstring.

    Args:
        labels: One label per video (``int``, ``str`` or ``None``).
        names: Explicit class list (id order), e.g. from :func:`read_label_map`.
            Integer labels must then be valid ids of it.
        sort_strings: Without ``names``: number string labels in sorted order.
        videos: Video ids, for the error messages (default: positions).

    Returns:
        The ids and the rule used.

    Raises:
        ManifestError: A label is not an ``int``/``str``, a string label has no
            class list or is not in it, an integer is outside the list, or string
            and integer labels are mixed without a list.
    """
    where = list(videos) if videos is not None else [f"#{i}" for i in range(len(labels))]
    problems: list[str] = []
    for w, lb in zip(where, labels, strict=True):
        if lb is not None and (isinstance(lb, bool) or not isinstance(lb, (int, str))):
            problems.append(f"{w}: label {lb!r} is neither an integer nor a string")
        elif isinstance(lb, int) and lb < 0:
            problems.append(f"{w}: label {lb} is negative")
    strings = sorted({lb for lb in labels if isinstance(lb, str)})
    ints = [lb for lb in labels if isinstance(lb, int) and not isinstance(lb, bool)]
    if names is not None:
        table = {n: i for i, n in enumerate(names)}
        names_t: tuple[str, ...] | None = tuple(names)
        rule = "label map"
        for w, lb in zip(where, labels, strict=True):
            if isinstance(lb, str) and lb not in table:
                problems.append(f"{w}: label {lb!r} is not in the label map")
            elif isinstance(lb, int) and not isinstance(lb, bool) and lb >= len(names):
                problems.append(f"{w}: label {lb} is not an id of the label map "
                                f"({len(names)} classes)")
    elif strings and sort_strings:
        if ints:
            problems.append(f"labels mix integers ({ints[0]}...) and strings "
                            f"({strings[0]!r}...): give a label map")
        table = {n: i for i, n in enumerate(strings)}
        names_t, rule = tuple(strings), "sorted strings (opt-in)"
    elif strings:
        problems.append(
            f"{len(strings)} string label(s) ({', '.join(map(repr, strings[:5]))}"
            f"{'...' if len(strings) > 5 else ''}) but no class list: give a label map (one "
            "class name per line, line number = id; CLI --label-map FILE, datasets "
            "label_map=...), or opt in to numbering them in sorted string order "
            "(--sorted-labels / sorted_labels=True)")
        table, names_t, rule = {}, None, "integers"
    else:
        table, names_t, rule = {}, None, "integers"
    if problems:
        raise ManifestError(problems, source="labels")
    ids = tuple(-1 if lb is None else table[lb] if isinstance(lb, str) else int(lb)
                for lb in labels)
    return LabelIds(ids, names_t, rule)


__all__ = ["Label", "LabelIds", "read_label_map", "assign_label_ids"]
