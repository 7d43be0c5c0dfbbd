"""Damaged copies of a data set's lines, as the readers' tests write them."""

from __future__ import annotations


def crlf(lines: list[str]) -> bytes:
    """``lines`` as the data sets write them: Windows line ends, UTF-8."""
    return "\r\n".join(lines).encode()


def swapped(lines: list[str], first: int) -> list[str]:
    """``lines`` with line ``first`` (0-based) and the next one in each other's place."""
    out = list(lines)
    out[first], out[first + 1] = out[first + 1], out[first]
    return out
