"""``Code``: the named slots a notebook's cells are written from, and who wrote each line.

A cell of the notebook is a template (``recsys/notebook/sections.py``) with two kinds of holes:

    ⟨name⟩      inline: a value or a short expression (``embedding_dimension = ⟨dim⟩``)
    ⟪name⟫      a line of its own: a block of lines, indented like the marker (empty: the line goes)

The tutorial's own code fills every hole first; then each lever that the run sets writes the
few lines that express it (``recsys/notebook/levers.py``), replacing a slot (``put``) or adding
to it (``add``). ``Code`` remembers which lever wrote into which slot, so a cell can carry the
help text of exactly the levers whose lines it holds. Two levers adding the same line (log-Q
and the movie bias both need P(movie)) write it once.
"""
from __future__ import annotations

import re
import textwrap

INLINE = re.compile(r"⟨(\w+)⟩")
BLOCK = re.compile(r"^(\s*)⟪(\w+)⟫\s*$")


class Code:
    """Slot name -> text, filled by the tutorial's defaults and then by the levers (see the module doc)."""

    def __init__(self):
        self.slots: dict[str, list[str]] = {}
        self.writers: dict[str, list[str]] = {}  # slot -> the levers that wrote into it, in order
        self.seps: dict[str, str] = {}             # slot -> what joins its parts (default: a new line)
        self.lever: str | None = None            # who is writing now (set by the builder around each entry)

    def put(self, slot: str, text: str) -> None:
        """Replace ``slot`` with ``text`` (the tutorial's line becomes the lever's; "" empties it)."""
        text = textwrap.dedent(text).strip("\n")
        self.slots[slot] = [text] if text else []
        self._credit(slot)

    def add(self, slot: str, text: str, sep: str = "\n", credit: bool = True) -> None:
        """Append ``text`` to ``slot`` (a text already there is not written twice); ``sep`` joins the parts.

        ``credit=False``: the lever is not named in the cell's note for it (an import line is no news).
        """
        text = textwrap.dedent(text).strip("\n")
        if text not in self.slots.setdefault(slot, []):
            self.slots[slot].append(text)
        self.seps[slot] = sep
        if credit:
            self._credit(slot)

    def get(self, slot: str) -> str:
        return self.seps.get(slot, "\n").join(self.slots.get(slot, []))

    def has(self, slot: str) -> bool:
        return bool(self.get(slot).strip())

    def _credit(self, slot: str) -> None:
        if self.lever is not None and self.lever not in self.writers.setdefault(slot, []):
            self.writers[slot].append(self.lever)

    def render(self, template: str) -> str:
        """The template with every hole filled; ``KeyError`` names a hole nobody filled."""
        return _tidy("\n".join(self._lines(textwrap.dedent(template).strip("\n"), 0)))

    def _lines(self, text: str, depth: int) -> list[str]:
        """``text``'s lines with every hole filled (a slot's text may hold holes of its own, a few levels deep)."""
        if depth > 5:
            raise ValueError("slots nested too deep")
        out = []
        for line in text.splitlines():
            block = BLOCK.match(line)
            if block is None:
                out.append(self._inline(line))
                continue
            name = block.group(2)
            inner = self.get(name) if name in self.slots else self._missing(name)
            out += [(block.group(1) + row) if row.strip() else "" for row in self._lines(inner, depth + 1)]
        return out

    def _inline(self, line: str) -> str:
        """``⟨name⟩`` holes filled (a block's own lines may hold them too: the seed inside the split's shuffle)."""
        for _ in range(5):  # a value may hold holes of its own (``train.shuffle(..., seed=⟨seed⟩)``)
            filled = INLINE.sub(lambda m: self.get(m.group(1)) if m.group(1) in self.slots
                                else self._missing(m.group(1)), line)
            if filled == line:
                return filled
            line = filled
        raise ValueError(f"holes nested too deep in {line!r}")

    def holes(self, template: str) -> list[str]:
        """The slot names a template reads, in order."""
        return [m.group(1) for m in re.finditer(r"[⟨⟪](\w+)[⟩⟫]", template)]

    @staticmethod
    def _missing(name: str) -> str:
        raise KeyError(f"slot {name!r} was never filled")


def _tidy(text: str) -> str:
    """PEP 8's blank lines around what the slots put together; none at either end."""
    return "\n".join(blank_lines(re.sub(r"\n{4,}", "\n\n\n", text).strip("\n").splitlines())).strip("\n")


def blank_lines(lines: list[str]) -> list[str]:
    """Two blank lines around top-level ``def``/``class`` blocks, one before a method (E301, E302, E305)."""
    out, in_block = [], False
    for line in lines:
        top = bool(line) and not line[0].isspace()
        previous = next((x for x in reversed(out) if x.strip()), "")
        if top:
            starts = line.startswith(("def ", "class ", "@"))
            if (starts and not previous.startswith(("@", "#"))) or (in_block and not starts):
                while out and not out[-1].strip():
                    out.pop()
                if out:
                    out += ["", ""]
            if not previous.startswith("@"):
                in_block = starts
        elif re.match(r"    (def |@)", line) and out and out[-1].strip() and not out[-1].rstrip().endswith(":") \
                and not out[-1].lstrip().startswith("@"):
            out.append("")
        out.append(line)
    return out
