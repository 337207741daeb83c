"""Input and output: video, manifests, the artifact store and layouts, other formats.

* :mod:`.video` — streaming decode with PyAV; :mod:`.manifest` — dataset manifests;
* :mod:`.store` — atomic HDF5 artifacts with provenance; :mod:`.files` — sha256 and
  atomic small-file writes;
* :mod:`.artifacts` — one module per stage layout; :mod:`.formats` — pyskl, COCO;
* :mod:`.describe` — human-readable artifact summaries; :mod:`.sample` — the
  quickstart clip.
"""
