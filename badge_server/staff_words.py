"""Words for staff that carry values ("12 badges voided"), kept apart until a page shows them.

A console page translates a :class:`StaffMessage` into the staff member's language and formats
its values there (a date in that language's way); anywhere else (the command line, a log) it is
the English text with its values. The English is marked ``N_`` where it is written, so
scripts/translations puts it in the catalogues.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StaffMessage:
    """An English message with ``%(name)s`` places, and the values that go in them."""

    text: str
    values: Mapping[str, object] = field(default_factory=dict)

    def __hash__(self) -> int:  # the values are a dict: hash what they hold
        return hash((self.text, tuple(sorted(self.values.items()))))

    def __str__(self) -> str:
        return self.text % self.values if self.values else self.text
