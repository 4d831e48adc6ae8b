"""ftigate: the gate federal tax information passes under IRC 6103(i)(2)."""

__version__ = "0.1.0"
