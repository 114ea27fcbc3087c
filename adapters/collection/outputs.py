"""The files one collection run writes into OUT, and their description for ``bench collect --help``.

Kept apart from the collector so the CLI can show the description without importing the run
machinery.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutputPaths:
    """Where one provider's outputs go: ``OUT/<provider>.json`` and its siblings."""

    raw: Path
    normalized: Path
    runs: Path
    journal: Path

    @classmethod
    def for_provider(cls, out_dir: Path, provider: str) -> "OutputPaths":
        out_dir = Path(out_dir)
        return cls(out_dir / f"{provider}.json", out_dir / f"{provider}.normalized.json",
                   out_dir / f"{provider}.runs.csv", out_dir / f"{provider}.journal.jsonl")


# What OutputPaths and write_outputs() produce, for ``bench collect --help``.
OUTPUTS_HELP = """\b
Outputs in OUT (re-running the same command resumes; nothing already collected is re-sent):
  <provider>.json             raw responses of the collected images, keyed by image stem
                              (bench eval --api_res_json OUT/<provider>.json reads it)
  <provider>.normalized.json  the same in the project's results schema; failed images as errors
  <provider>.runs.csv         one row per image: status (collected, reused, failed, remaining),
                              error_class, error_code, error, attempts, latency_ms (of the
                              successful attempt), bytes_sent, sent_width/sent_height (after
                              EXIF rotation and any resize), original size, format, finished_at
  <provider>.journal.jsonl    append-only journal of finished images (the source of the above),
                              each with the settings it was collected with
The first three hold every image in the journal for this run's settings, including those of
earlier runs on other --images folders. An image whose file changed since it was collected is
sent again; a run whose settings differ from those OUT holds stops before sending anything.
"""
