"""Graph algorithms on a layout's limbs (pure Python / numpy).

Used by the limb-rotation augmentation (:mod:`posetools.torch.augment`): a
spanning tree of the limb graph and, per tree edge, the joints that move with
its child.
"""

from __future__ import annotations

import numpy as np

from .layout import SkeletonLayout


def limb_tree(layout: SkeletonLayout, root: int | None = None) -> list[tuple[int, int, int]]:
    """A spanning tree of the limb graph, for rotating limbs about their parent joint.

    Breadth-first from ``root`` (default: the graph centre, the joint with the
    smallest eccentricity, lowest index on ties); joints in other connected
    components are reached from their own lowest-index joint. Limbs that close a
    cycle (e.g. shoulder-shoulder) are not tree edges.

    Returns:
        ``[(limb_index, parent_joint, child_joint), ...]`` in breadth-first order.
    """
    k = layout.num_joints
    adj: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    for i, (a, b) in enumerate(layout.limbs):
        adj[a].append((b, i))
        adj[b].append((a, i))

    def bfs(src: int) -> dict[int, int]:
        dist = {src: 0}
        queue = [src]
        for j in queue:
            for n, _ in adj[j]:
                if n not in dist:
                    dist[n] = dist[j] + 1
                    queue.append(n)
        return dist

    if root is None:
        ecc = []
        for j in range(k):
            dist = bfs(j)
            ecc.append((-len(dist), max(dist.values()), j))  # biggest component first
        root = min(ecc)[2]
    seen = [False] * k
    edges: list[tuple[int, int, int]] = []
    for start in [root, *range(k)]:
        if seen[start]:
            continue
        seen[start] = True
        queue = [start]
        for j in queue:
            for n, li in adj[j]:
                if not seen[n]:
                    seen[n] = True
                    edges.append((li, j, n))
                    queue.append(n)
    return edges


def subtree_masks(layout: SkeletonLayout, tree: list[tuple[int, int, int]]) -> np.ndarray:
    """``(len(tree), K)`` bool: joints moved when tree edge ``e`` rotates (its child's subtree)."""
    children: dict[int, list[int]] = {}
    for _, p, c in tree:
        children.setdefault(p, []).append(c)
    out = np.zeros((len(tree), layout.num_joints), dtype=bool)
    for e, (_, _, c) in enumerate(tree):
        stack = [c]
        while stack:
            j = stack.pop()
            out[e, j] = True
            stack.extend(children.get(j, []))
    return out
