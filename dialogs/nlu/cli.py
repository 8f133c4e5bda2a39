"""`repairbot parse`: free text on stdin, one JSON object per line on stdout.

Also runnable on its own for scoring: python -m dialogs.nlu.cli --register FILE
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from dialogs.nlu.explain import explain as reasons
from dialogs.nlu.parse import Parser, get_parser
from models.errors import RepairbotError
from models.register import Register


def run_parse(register: Register, stdin: TextIO, stdout: TextIO, *, lexicon_path: str | Path | None = None,
              explain: bool = False) -> int:
    """Parse every line of stdin and write one JSON object per line (a blank line gives `other`).

    explain: add an "explain" key to each object, the reasons as lines of text.
    """
    parser = Parser(register, lexicon_path) if lexicon_path is not None else get_parser(register)
    for line in stdin:
        result = parser.parse(line.rstrip("\r\n"))
        obj = result.to_json()
        if explain:
            obj["explain"] = reasons(result)
        stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the parse command from the shell."""
    ap = argparse.ArgumentParser(prog="python -m dialogs.nlu.cli", description=__doc__.splitlines()[0])
    ap.add_argument("--register", required=True, type=Path, help="a register YAML file")
    ap.add_argument("--lexicon", type=Path, default=None, help="a lexicon YAML file (default: the bundled one)")
    ap.add_argument("--explain", action="store_true", help="add the reasons (cues, hints, corrections) to each object")
    args = ap.parse_args(argv)
    try:
        register = Register.from_yaml(args.register.read_text(encoding="utf-8"))
        return run_parse(register, sys.stdin, sys.stdout, lexicon_path=args.lexicon, explain=args.explain)
    except (OSError, RepairbotError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def utf8_streams() -> None:
    """Read and write UTF-8 whatever the shell's locale says, and never die on a bad byte."""
    for stream in (sys.stdin, sys.stdout):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


if __name__ == "__main__":
    utf8_streams()
    sys.exit(main())
