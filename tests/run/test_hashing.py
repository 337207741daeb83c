import os

import pytest

from posetools.run.hashing import Fingerprinter, HashCache, file_sha256, fingerprint


def test_hash_cache_reuses_until_size_or_mtime_change(tmp_path, monkeypatch):
    f = tmp_path / "v.bin"
    f.write_bytes(b"abc")
    cache = HashCache(tmp_path / "h.sqlite")
    h1 = cache.get(f)
    assert h1 == file_sha256(f)
    calls = []
    import posetools.run.hashing as mod

    real = mod.file_sha256
    monkeypatch.setattr(mod, "file_sha256", lambda p: calls.append(p) or real(p))
    assert cache.get(f) == h1 and calls == []
    f.write_bytes(b"abd")
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000))
    assert cache.get(f) != h1 and len(calls) == 1
    cache.get(f, rehash=True)
    assert len(calls) == 2


def test_fingerprint_depends_on_semantics_only():
    base = dict(stage="s", stage_version="1", params={"a": 1, "b": [1, 2]}, input_hash="x",
                model_checksum="m", upstream={"u": "1", "v": "2"})
    fp = fingerprint(**base)
    assert fingerprint(**dict(base, params={"b": [1, 2], "a": 1})) == fp
    assert fingerprint(**dict(base, upstream={"v": "2", "u": "1"})) == fp
    for k, v in [("stage_version", "2"), ("params", {"a": 2, "b": [1, 2]}), ("input_hash", "y"),
                 ("model_checksum", "n"), ("upstream", {"u": "1", "v": "3"})]:
        assert fingerprint(**dict(base, **{k: v})) != fp, k


@pytest.mark.parametrize("input_hash, upstream", [
    (None, None), ("ab" * 32, {}), ("x[0.5,None)+files:12", {"probe": "f1", "detect": "f0"}),
])
def test_fingerprinter_gives_the_fingerprint_digests(input_hash, upstream):
    params = {"b": [1, 2.5, None], "a": {"z": "é", "y": 1e-7}, "c": True}
    fp = Fingerprinter(stage="estimate", stage_version="3", params=params,
                       model_checksum="m=1;n=2")
    assert fp(input_hash, upstream) == fingerprint(
        stage="estimate", stage_version="3", params=params, input_hash=input_hash,
        model_checksum="m=1;n=2", upstream=upstream)
