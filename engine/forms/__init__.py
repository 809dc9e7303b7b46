"""Forms belong to the process: JSON Schema files declared by a process package, one validation path.

- engine.forms.package: which element names which files (``formJsonSchemaFilename``,
  ``formUiSchemaFilename``), the deploy-time check (:func:`check_form_files`), loading (:func:`load_forms`).
- engine.forms.subset: the safe subset of JSON Schema a form may use (bounded, no remote references,
  linear-time patterns).
- engine.forms.rules: cross-field rules (``x-rules``) in the safe expression grammar.
- engine.forms.validation: :class:`Form`, which validates a submission with jsonschema and the rules.

See docs/forms.md for the file format.
"""

from engine.forms.package import (
    FORM_PROPERTIES,
    PLAIN_FORM,
    SCHEMA_PROPERTY,
    UI_SCHEMA_PROPERTY,
    FormRef,
    FormSet,
    check_form_files,
    files_hash,
    form_ref,
    load_forms,
)
from engine.forms.validation import Form

__all__ = [
    "FORM_PROPERTIES",
    "PLAIN_FORM",
    "SCHEMA_PROPERTY",
    "UI_SCHEMA_PROPERTY",
    "Form",
    "FormRef",
    "FormSet",
    "check_form_files",
    "files_hash",
    "form_ref",
    "load_forms",
]
