"""dimensions.auxiliary: one rule and one message for a missing or malformed auxiliary_info field."""

from __future__ import annotations

import pytest

from pytest_vbench.dimensions import auxiliary, color, multiple_objects, object_class, scene, spatial_relationship
from pytest_vbench.suite import Case
from pytest_vbench.video import VideoError


def test_a_valid_field_is_returned():
    assert auxiliary.field(Case("color", "a red car", 0, {"color": "red"}), "color", auxiliary.text) == "red"


@pytest.mark.parametrize("aux", [None, {}, {"color": ""}, {"color": 3}, ["red"]])
def test_a_missing_or_malformed_field_names_prompt_dimension_field_and_value(aux):
    with pytest.raises(VideoError) as err:
        auxiliary.field(Case("color", "a red car", 0, aux), "color", auxiliary.text)
    message = str(err.value)
    assert message.startswith("prompt 'a red car': color needs auxiliary_info.color (standard mode")
    assert message.endswith(f"got {(aux.get('color') if isinstance(aux, dict) else None)!r}")


@pytest.mark.parametrize("reader, dim, aux, want", [
    (color.colour, "color", {"color": "red"}, "red"),
    (object_class.target, "object_class", {"object": "bird"}, "bird"),
    (multiple_objects.objects, "multiple_objects", {"object": "bird and cat"}, "bird and cat"),
    (scene.scene_phrase, "scene", {"scene": {"scene": "alley"}}, "alley"),
    (spatial_relationship.relation, "spatial_relationship",
     {"spatial_relationship": {"object_a": "a", "object_b": "b", "relationship": "on the left of"}},
     ("a", "b", "on the left of")),
])
def test_every_reader_goes_through_the_one_rule(reader, dim, aux, want):
    assert reader(Case(dim, "p", 0, aux)) == want
    with pytest.raises(VideoError, match=f"^prompt 'p': {dim} needs auxiliary_info"):
        reader(Case(dim, "p", 0, {}))
