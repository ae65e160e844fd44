#!/usr/bin/env python3
"""Checks that every #include between the library's rooms follows docs/design.md's room table.

The table's "may include" column names, for each room under src/, the rooms it may include
directly; a room may also include whatever those may include (the rule is transitive), and
itself. An include of any other room fails the check: it prints each offending line as
`file:line: room includes "other/x.hpp"; allowed: ...` and exits 1. A room under src/ missing
from the table fails too, so the table cannot fall behind the tree.
Usage: scripts/check-includes.py [REPO_ROOT]
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
design = (root / "docs" / "design.md").read_text(encoding="utf-8")

direct = {}
for line in design.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 3 or not re.fullmatch(r"`[a-z_]+`", cells[0]):
        continue
    room = cells[0].strip("`")
    direct[room] = set(re.findall(r"`?([a-z_]+)`?", cells[2])) - {"std", "everything"}

def closure(room, seen=None):
    seen = set() if seen is None else seen
    for dep in direct.get(room, ()):
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen

rooms = {p.name for p in (root / "src").iterdir() if p.is_dir()}
failures = [f"docs/design.md: room `{r}` (src/{r}/) is missing from the room table"
            for r in sorted(rooms - direct.keys())]
include = re.compile(r'^\s*#\s*include\s*"([a-z_]+)/')
for path in sorted((root / "src").rglob("*")):
    if path.suffix not in (".hpp", ".cpp", ".h"):
        continue
    room = path.relative_to(root / "src").parts[0]
    allowed = closure(room) | {room}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = include.match(text)
        if m and m.group(1) in rooms and m.group(1) not in allowed:
            failures.append(f"{path.relative_to(root)}:{number}: {room} includes "
                            f'"{m.group(1)}/..."; allowed: {", ".join(sorted(allowed))}')
for f in failures:
    print(f"error: {f}", file=sys.stderr)
sys.exit(1 if failures else 0)
