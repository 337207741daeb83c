"""Running stages over a dataset: planning and fingerprints, executors, the ledger.

* :mod:`.runner` — :class:`~.runner.Runner` (plan, skip-if-done, record);
* :mod:`.work` — the typed plumbing (:class:`~.work.WorkItem`, :class:`~.work.Outcome`,
  :class:`~.work.RunOptions`, :class:`~.work.StageReport`);
* :mod:`.worker` — one (stage, video) in a worker; :mod:`.executors` — in-process and
  process-pool executors; :mod:`.ray` — the Ray Data executor;
* :mod:`.ledger` — ``OUT/ledger.sqlite``; :mod:`.hashing` — input hashes, fingerprints.
"""
