"""The bounds of the safe JSON Schema subset (checked at deploy) and of a submission (checked per call).

Each bound keeps one deploy or one validation cheap whatever a process package holds (G9): a schema is small,
shallow and cannot expand without limit, every list has a maximum size, every text a maximum length, and a
pattern is matched in linear time.
"""

from __future__ import annotations

from typing import Final

MAX_SCHEMA_BYTES: Final = 256 * 1024
"""A form schema file, in bytes."""
MAX_UI_SCHEMA_BYTES: Final = 64 * 1024
"""A UI schema file, in bytes."""
MAX_JSON_DEPTH: Final = 40
"""Nesting of JSON arrays/objects in a form file (a schema nests about two levels per field level)."""
MAX_SCHEMA_DEPTH: Final = 12
"""Nesting of subschemas (properties, items, allOf, ...) counted from the root, through local $refs."""
MAX_PROPERTIES: Final = 400
"""Properties declared in one form, rows' fields included."""
MAX_SUBSCHEMAS: Final = 2000
"""Subschemas in one form file."""
MAX_ENUM_VALUES: Final = 500
MAX_ITEMS_CAP: Final = 1000
"""The largest `maxItems` a list may declare."""
MAX_LENGTH_CAP: Final = 100_000
"""The largest `maxLength` a text may declare."""
DEFAULT_MAX_LENGTH: Final = 4000
"""The `maxLength` of a text whose schema declares none."""
MAX_INSTANCE_VALUES: Final = 100_000
"""The most values a submission can hold at the declared maxItems (lists multiply what they contain)."""
MAX_PATTERN_LENGTH: Final = 500
"""A `pattern`, in characters."""
MAX_RULES: Final = 100
"""Rules (`x-rules`) per form."""
MAX_ROWS_FOR_EACH: Final = 500
"""The largest list a `for_each` rule may walk (such a rule may compare each row with all others)."""
MAX_MESSAGE_LENGTH: Final = 500
"""A rule's or a field's message."""
MAX_UI_TEXT_LENGTH: Final = 2000
"""Help text, placeholders and titles in a UI schema."""
MAX_FORM_FILES: Final = 200
"""Form files in one process package."""
