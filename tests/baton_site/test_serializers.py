"""`RequestSerializer` validates exactly as DRF's `Serializer` does, with fields of its own per instance."""

from __future__ import annotations

import gc
import weakref

import pytest
from rest_framework import serializers

from baton_site.serializers import RequestSerializer


def declared() -> dict[str, serializers.Field]:
    return {
        "name": serializers.CharField(max_length=5),
        "count": serializers.IntegerField(required=False, min_value=0, max_value=10),
        "tags": serializers.ListField(
            child=serializers.CharField(max_length=3), required=False, max_length=2
        ),
        "note": serializers.CharField(required=False, allow_blank=True, default=""),
    }


Plain = type("Plain", (serializers.Serializer,), declared())
Shallow = type("Shallow", (RequestSerializer,), declared())


@pytest.mark.parametrize(
    "data",
    [
        {"name": "ann", "count": 3, "tags": ["a", "bc"]},
        {"name": "ann"},
        {"name": "toolongname", "count": -1, "tags": ["abcd", "b", "c"]},
        {"count": "x", "tags": "notalist"},
        {"name": "", "count": 11, "note": None},
        {},
    ],
)
def test_validates_as_drf_does(data):
    plain, shallow = Plain(data=data), Shallow(data=data)
    assert set(shallow.fields) == {"name", "count", "tags", "note"}
    assert plain.is_valid() == shallow.is_valid()
    assert plain.errors == shallow.errors
    assert dict(plain.validated_data) == dict(shallow.validated_data)


def test_each_instance_binds_fields_of_its_own():
    first, second = Shallow(data={"name": "toolongname"}), Shallow(data={"name": "ok", "tags": ["abcd"]})
    assert not first.is_valid()
    assert not second.is_valid()
    assert set(first.errors) == {"name"}
    assert set(second.errors) == {"tags"}
    assert first.fields["name"] is not second.fields["name"]
    assert first.fields["name"].parent is first
    assert second.fields["name"].parent is second
    # A field holding another field is deep-copied: its child is bound to this instance's copy.
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert second.fields["tags"].child.parent is second.fields["tags"]
    # The declared fields stay unbound.
    assert Shallow._declared_fields["name"].parent is None


@pytest.mark.parametrize("data", [{"name": "ann", "tags": ["a"]}, {"name": "bo", "count": 2}])
def test_a_validated_serializer_is_freed_without_the_garbage_collector(data):
    # (A body that fails validation keeps its exceptions' tracebacks, which are cycles of their own: the error
    # path is left to the collector.)
    plain = Plain(data=data)
    plain.is_valid()
    gc.collect()
    gc.disable()  # only reference counting may free it
    try:
        serializer = Shallow(data=data)
        child = weakref.ref(serializer.fields["tags"].child)
        serializer.is_valid()
        assert serializer.errors == plain.errors
        assert dict(serializer.validated_data) == dict(plain.validated_data)
        gone = weakref.ref(serializer)
        del serializer
        assert gone() is None
        assert child() is None
    finally:
        gc.enable()
