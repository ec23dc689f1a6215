"""``-k`` with spaces inside a prompt: read joined while pytest selects items, left as typed otherwise."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_vbench.keywords import SpacedKeywords, joined, prompt_keyword


@pytest.mark.parametrize("expr", ["", "stop", "not stop", "temporal_flickering and stop_sign",
                                  "(a or b) and not c", "quality and (toilet or laptop)"])
def test_an_expression_pytest_can_parse_is_left_alone(expr):
    assert joined(expr) is None


@pytest.mark.parametrize("expr,reading", [
    ("temporal_flickering and stop sign", "temporal_flickering and stop_sign"),
    ("stop sign", "stop_sign"),
    ("(a  stop sign or frozen in time) and not semantic", "( a_stop_sign or frozen_in_time ) and not semantic"),
    ("not frozen\tin time", "not frozen_in_time"),
])
def test_runs_of_words_are_joined(expr, reading):
    assert joined(expr) == reading


def test_the_joined_prompt_matches_the_item_keyword():
    prompt = "In a still frame,  a stop sign"
    assert prompt_keyword(prompt) == "In_a_still_frame,_a_stop_sign"
    assert joined("a stop sign") in prompt_keyword(prompt)  # pytest's -k matches keywords by substring


def _config(keyword):
    return SimpleNamespace(option=SimpleNamespace(keyword=keyword))


def test_the_joined_expression_lives_only_while_items_are_selected():
    config = _config("temporal_flickering and stop sign")
    wrapper = SpacedKeywords().pytest_collection_modifyitems(config, [])
    next(wrapper)  # the other pytest_collection_modifyitems hooks (pytest's -k selection) run here
    assert config.option.keyword == "temporal_flickering and stop_sign"
    with pytest.raises(StopIteration):
        wrapper.send(None)
    assert config.option.keyword == "temporal_flickering and stop sign"


def test_the_typed_expression_is_restored_when_selection_fails():
    config = _config("stop sign")
    wrapper = SpacedKeywords().pytest_collection_modifyitems(config, [])
    next(wrapper)
    with pytest.raises(pytest.UsageError):
        wrapper.throw(pytest.UsageError("Wrong expression passed to '-k'"))
    assert config.option.keyword == "stop sign"


def test_a_parsable_expression_is_never_touched():
    config = _config("not stop")
    wrapper = SpacedKeywords().pytest_collection_modifyitems(config, [])
    next(wrapper)
    assert config.option.keyword == "not stop"
    with pytest.raises(StopIteration):
        wrapper.send(None)
    assert config.option.keyword == "not stop"
