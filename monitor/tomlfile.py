"""Reading a TOML file (the config or a rule file) with every failure said in one line.

Only reads and parses; what the data means is the caller's business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, with every way it can be unreadable said in one line.

    Raises:
        OSError: the file cannot be opened.
        ValueError: the file is not UTF-8, not TOML, or nested too deeply to parse; the
            message states the problem and the fix, without the file name.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} on line {line}); save the file as UTF-8"
        ) from None
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        raise ValueError(f"invalid TOML: {error}") from None
    except RecursionError:
        # tomli recurses once per nested array or inline table.
        raise ValueError(
            "invalid TOML: arrays or tables nested too deeply to read; flatten them"
        ) from None
