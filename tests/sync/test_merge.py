"""The three-way list merge used for allergies and chronic conditions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.merge import merge_lists, same_list

items = st.lists(st.sampled_from(["penicillin", "sulfa", "latex", "nuts", "Penicillin "]))


def test_both_sides_additions_survive_and_removals_stick() -> None:
    prior = ["penicillin", "latex"]
    here = ["penicillin", "latex", "sulfa"]  # added sulfa
    there = ["penicillin"]  # removed latex
    assert merge_lists(prior, here, there) == ["penicillin", "sulfa"]


def test_spelling_and_case_do_not_duplicate() -> None:
    assert merge_lists([], ["Penicillin"], [" penicillin "]) == ["Penicillin"]


@given(items, items, items)
def test_merge_is_symmetric_in_content(prior: list[str], a: list[str], b: list[str]) -> None:
    assert same_list(merge_lists(prior, a, b), merge_lists(prior, b, a))


@given(items, items)
def test_merging_with_an_unchanged_side_keeps_the_other_sides_edit(
    prior: list[str], edited: list[str]
) -> None:
    assert same_list(merge_lists(prior, prior, edited), edited)
