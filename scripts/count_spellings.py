"""Count how often each setting name is spelled in src/ as code (the redesign's measure).

Counts NAME tokens equal to the setting (identifiers, attribute accesses, keyword arguments)
and string literals equal to it (dict keys, getattr names); comments and docstrings are not
counted. Usage: ``python scripts/count_spellings.py r1_gamma ema_start ...``.
"""

from __future__ import annotations

import io
import sys
import tokenize
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def count(name: str) -> dict[str, int]:
    """Spellings of ``name`` per file under src/ (files with none left out)."""
    found: dict[str, int] = {}
    for path in sorted(SRC.rglob("*.py")):
        tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
        n = 0
        for i, tok in enumerate(tokens):
            if tok.type == tokenize.NAME and tok.string == name:
                n += 1
            elif tok.type == tokenize.STRING and tok.string.strip("\"'") == name:
                previous = tokens[i - 1].type if i else tokenize.NEWLINE
                following = tokens[i + 1].type if i + 1 < len(tokens) else tokenize.NEWLINE
                statement = previous in (tokenize.INDENT, tokenize.NEWLINE, tokenize.NL)
                n += 0 if statement and following == tokenize.NEWLINE else 1  # not a docstring
        if n:
            found[str(path.relative_to(SRC))] = n
    return found


if __name__ == "__main__":
    for setting in sys.argv[1:]:
        per_file = count(setting)
        print(f"{setting}: {sum(per_file.values())}  {per_file}")
