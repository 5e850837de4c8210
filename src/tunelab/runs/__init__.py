"""The run folder: its layout, the typed records written into it, and statuses as enums.

Every writer (train, study, guide) and every reader (report, CLI) imports these definitions,
so a file's name and format are defined once.

Example:
    >>> from tunelab.runs import RunLayout, SlotStatus
    >>> RunLayout("runs/x").decisions_json.name, SlotStatus.DONE.finished
    ('decisions.json', True)
"""

from tunelab.runs._layout import RunLayout
from tunelab.runs._records import (
    SCHEMA_VERSION,
    BatchRow,
    Comparison,
    Decisions,
    Evidence,
    FinalProtocol,
    FinalResult,
    GuideSettings,
    LandscapeSplit,
    LossLandscape,
    RangeTestRecord,
    RangeTests,
    RecordError,
    RunSummary,
    StepDecision,
    Timing,
    TuningCheck,
    ValueStats,
    read_record,
    write_record,
)
from tunelab.runs._status import FINISHED, Credit, SlotStatus, TestKind

__all__ = [
    "FINISHED",
    "SCHEMA_VERSION",
    "BatchRow",
    "Comparison",
    "Credit",
    "Decisions",
    "Evidence",
    "FinalProtocol",
    "FinalResult",
    "GuideSettings",
    "LandscapeSplit",
    "LossLandscape",
    "RangeTestRecord",
    "RangeTests",
    "RecordError",
    "RunLayout",
    "RunSummary",
    "SlotStatus",
    "StepDecision",
    "TestKind",
    "Timing",
    "TuningCheck",
    "ValueStats",
    "read_record",
    "write_record",
]
