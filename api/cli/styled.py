"""Styled output that shows what users and models wrote exactly as they wrote it.

The consoles take no markup (`markup=False`), so a title, a prop value or an error
message that happens to hold `[bold]` or `[/x]` is printed as it is, never read as
styling (nor, with an unbalanced tag, a crash). Where we want styling, the template
is ours and every value is escaped into it.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text


def styled(template: str, **values: object) -> Text:
    """`template`: rich markup we wrote, with `{name}` fields; `values`: shown as is."""
    return Text.from_markup(template.format(**{k: escape(str(v)) for k, v in values.items()}))
