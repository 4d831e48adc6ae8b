"""Moved to `ftigate.pipeline` (`run`, `respond`). Kept only because
`ftigate.decide.record`, which another change owns, still imports these two names from
here; when that import names `ftigate.pipeline.respond`, this module goes."""

from ftigate.pipeline.respond import ProcessResult, stage_outputs

__all__ = ["ProcessResult", "stage_outputs"]
