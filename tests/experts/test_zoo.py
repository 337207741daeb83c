"""Model zoo table, checkpoint cache, download-verify-rename, offline errors, safe loading."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest
import yaml

from posetools.errors import CheckpointError
from posetools.experts import zoo
from posetools.skeletons import get_layout


def test_table_is_consistent():
    assert len(zoo.ZOO) == len({e.name for e in zoo.ZOO.values()})
    for name, e in zoo.ZOO.items():
        assert e.name == name and e.url.startswith("https://download.openmmlab.com/")
        assert e.hash_prefix == zoo.hash_prefix_in_filename(e.filename), name
        if e.kind == "expert":
            assert get_layout(e.layout).name == e.layout
        else:
            assert e.layout is None
    for family in ("rtmdet-nano", "rtmdet-tiny", "rtmdet-m", "faster-rcnn-r50", "rtmpose-t",
                   "rtmpose-s", "rtmpose-m", "rtmpose-l", "rtmpose-m-384x288", "rtmw-l",
                   "rtmpose-m-wholebody", "hrnet-w32", "hrnet-w48", "rtmo-s", "rtmo-m", "rtmo-l"):
        assert family in zoo.ZOO


def test_hash_prefix_in_filename():
    f = zoo.hash_prefix_in_filename
    assert f("rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.pth") == "e48f03d0"
    assert f("faster_rcnn_r50_fpn_2x_coco_bbox_mAP-0.384_20200504_210434-a5d8aa15.pth") == (
        "a5d8aa15")
    assert f("rtmw-dw-l-m_simcc-cocktail14_270e-256x192-20231122.pth") is None  # a date
    assert f("model.pth") is None


def _metafile_configs(package: str) -> dict[str, str]:
    """URL -> config of every model listed in an installed package's metafiles."""
    out = {}
    for yml in (zoo.package_root(package) / "configs").rglob("*.yml"):
        try:
            doc = yaml.safe_load(yml.read_text())
        except yaml.YAMLError:
            continue
        for m in (doc or {}).get("Models", []) if isinstance(doc, dict) else []:
            weights = m.get("Weights")
            for url in weights if isinstance(weights, list) else [weights]:
                if url:
                    out[url] = m.get("Config", "")
    return out


def test_table_matches_installed_metafiles():
    pytest.importorskip("mmpose", reason="OpenMMLab stack not installed")
    pytest.importorskip("mmdet", reason="OpenMMLab stack not installed")
    known = {**_metafile_configs("mmpose"), **_metafile_configs("mmdet")}
    # the two person-only RTMDet detectors are mmpose's demo detectors, not in metafiles
    not_in_metafiles = {"rtmdet-nano", "rtmdet-m"}
    for e in zoo.ZOO.values():
        path, entry = zoo.resolve_config(e.name, e.kind)
        assert entry is e and path.is_file()
        if e.name in not_in_metafiles:
            continue
        assert known.get(e.url) == e.config, e.name


def test_resolve_config_errors(tmp_path):
    with pytest.raises(CheckpointError, match="rtmpose-m"):
        zoo.resolve_config("no-such-model", "expert")
    with pytest.raises(CheckpointError, match="is a detector"):
        zoo.resolve_config("rtmdet-tiny", "expert")
    cfg = tmp_path / "my_cfg.py"
    cfg.write_text("x = 1\n")
    assert zoo.resolve_config(str(cfg), "expert") == (cfg.resolve(), None)


def test_home_and_local_checkpoints(tmp_path, monkeypatch):
    monkeypatch.delenv("POSETOOLS_HOME", raising=False)
    assert zoo.posetools_home() == Path.home() / ".cache" / "posetools"
    monkeypatch.setenv("POSETOOLS_HOME", str(tmp_path))
    assert zoo.checkpoint_dir() == tmp_path / "checkpoints"
    assert zoo.resolve_checkpoint(zoo.RANDOM_INIT, None) == zoo.RANDOM_INIT
    local = tmp_path / "finetuned.pth"
    local.write_bytes(b"anything")  # a local file is always accepted, never hash-checked
    assert zoo.resolve_checkpoint(str(local), zoo.ZOO["rtmpose-m"]) == local.resolve()
    with pytest.raises(CheckpointError, match="not found"):
        zoo.resolve_checkpoint(str(tmp_path / "nope.pth"), None)
    with pytest.raises(CheckpointError, match="needs `checkpoint:`"):
        zoo.resolve_checkpoint(None, None)


class _Server:
    """A loopback HTTP server serving fixed bytes, counting requests."""

    def __init__(self, payload: bytes) -> None:
        self.payload, self.hits = payload, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.payload)))
                self.end_headers()
                self.wfile.write(outer.payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server(b"fake checkpoint bytes" * 1000)
    yield s
    s.close()


def _entry(url: str, prefix: str | None) -> zoo.ZooEntry:
    return zoo.ZooEntry("toy", "expert", "mmpose", "configs/x.py", url, prefix, layout="coco17")


def test_download_verify_rename_and_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("POSETOOLS_HOME", str(tmp_path))
    digest = hashlib.sha256(server.payload).hexdigest()
    e = _entry(f"http://127.0.0.1:{server.port}/toy-{digest[:8]}_20240101.pth", digest[:8])
    path = zoo.resolve_checkpoint(None, e)
    assert path == tmp_path / "checkpoints" / e.filename
    assert path.read_bytes() == server.payload and server.hits == 1
    assert not list(path.parent.glob("*.part"))
    assert zoo.resolve_checkpoint(None, e) == path and server.hits == 1  # cached
    assert zoo.checkpoint_checksum(path) == digest
    # a full sha256 in the table takes precedence over the prefix
    full = zoo.ZooEntry("toy", "expert", "mmpose", "x.py", e.url, None, sha256=digest)
    assert zoo.verify_checkpoint(path, full) == digest


def test_checksum_mismatch_is_refused(server, tmp_path, monkeypatch):
    monkeypatch.setenv("POSETOOLS_HOME", str(tmp_path))
    e = _entry(f"http://127.0.0.1:{server.port}/toy-deadbeef.pth", "deadbeef")
    with pytest.raises(CheckpointError, match="fails its checksum"):
        zoo.resolve_checkpoint(None, e)
    folder = tmp_path / "checkpoints"
    assert not (folder / e.filename).exists() and not list(folder.glob("*.part"))
    # a corrupted cache file is refused too, not silently used
    (folder / e.filename).write_bytes(b"corrupt")
    with pytest.raises(CheckpointError, match="fails its checksum"):
        zoo.resolve_checkpoint(None, e)


def test_offline_error_names_url_and_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETOOLS_HOME", str(tmp_path))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = _entry(f"http://127.0.0.1:{port}/toy-0123abcd.pth", "0123abcd")
    dest = tmp_path / "checkpoints" / e.filename
    with pytest.raises(CheckpointError) as ei:
        zoo.resolve_checkpoint(None, e)
    assert e.url in str(ei.value) and str(dest) in str(ei.value)
    assert not list(dest.parent.glob("*.part"))
    monkeypatch.setenv("POSETOOLS_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="POSETOOLS_OFFLINE") as ei:
        zoo.resolve_checkpoint(None, zoo.ZOO["hrnet-w32"])
    assert zoo.ZOO["hrnet-w32"].url in str(ei.value)


class _NotWeights:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_load_state_dict_is_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    np = pytest.importorskip("numpy")
    good = tmp_path / "good.pth"
    meta = {"dataset_meta": {"sigmas": np.ones(17, np.float32), "n": np.int64(3)}}
    torch.save({"meta": meta, "state_dict": {"module.w": torch.ones(2)}}, good)
    sd = zoo.load_state_dict(good)
    assert list(sd) == ["w"] and torch.equal(sd["w"], torch.ones(2))
    bare = tmp_path / "bare.pth"
    torch.save({"w": torch.zeros(1)}, bare)  # a plain state_dict works too
    assert list(zoo.load_state_dict(bare)) == ["w"]
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "x": _NotWeights()}, evil)
    with pytest.raises(CheckpointError, match="weights_only"):
        zoo.load_state_dict(evil)
    junk = tmp_path / "junk.pth"
    torch.save({"state_dict": {"w": "not a tensor"}}, junk)
    with pytest.raises(CheckpointError, match="no state_dict"):
        zoo.load_state_dict(junk)
