"""Tests for item text templates: fields from columns and attributes, clean dropping."""

from __future__ import annotations

import logging
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.data.schema import make_catalogue
from sessionrec.errors import ConfigError, DataError
from sessionrec.text.template import DEFAULT_TEMPLATE, ItemTextTemplate


def test_default_template_reads_columns_and_attributes() -> None:
    catalogue = make_catalogue(
        ["1"],
        ["Heat"],
        texts=["A heist goes wrong in Los Angeles."],
        categories=[["Action", "Crime"]],
        attributes=[{"year": 1995}],
    )
    texts = ItemTextTemplate().build(catalogue)
    assert texts == ["Heat (1995). Action, Crime. A heist goes wrong in Los Angeles."]


def test_empty_fields_drop_with_their_brackets_and_separators() -> None:
    template = ItemTextTemplate()
    assert template.render({"title": "Heat", "categories": ["Action"]}) == "Heat. Action"
    assert template.render({"title": "Heat", "year": 1995}) == "Heat (1995)"
    assert template.render({"year": 1995, "text": "A heist."}) == "(1995). A heist."
    assert template.render({"title": "Heat", "year": None, "text": "A heist."}) == (
        "Heat. A heist."
    )
    assert template.render({"title": "  ", "year": math.nan, "categories": []}) == ""


def test_prefix_and_suffix_are_written_only_with_some_text() -> None:
    template = ItemTextTemplate("Movie: {title} [{year}]!")
    assert template.render({"title": "Heat", "year": 1995}) == "Movie: Heat [1995]!"
    assert template.render({"title": "Heat"}) == "Movie: Heat!"
    assert template.render({}) == ""


def test_values_are_formatted_readably() -> None:
    template = ItemTextTemplate("{title} ({year}). {genres}. {meta}")
    text = template.render(
        {"title": "Heat", "year": 1995.0, "genres": ("Action", "", "Crime"), "meta": {"a": 1}}
    )
    assert text == "Heat (1995). Action, Crime. a: 1"
    assert ItemTextTemplate("{price:.2f} EUR").render({"price": 3}) == "3.00 EUR"


def test_prebuilt_description_is_not_said_twice() -> None:
    """MovieLens-style loaders pre-build `text` from title, year and genres."""
    catalogue = make_catalogue(
        ["1", "2"],
        ["Toy Story", "Heat"],
        texts=["Toy Story (1995). Animation, Comedy.", "Heat"],
        categories=[["Animation", "Comedy"], ["Action"]],
        attributes=[{"year": 1995}, {}],
    )
    assert ItemTextTemplate().build(catalogue) == [
        "Toy Story (1995). Animation, Comedy.",
        "Heat. Action",
    ]


def test_columns_win_over_attributes_of_the_same_name_unless_empty() -> None:
    catalogue = make_catalogue(
        ["1", "2"],
        ["Column title", ""],
        attributes=[{"title": "Attribute title"}, {"title": "Only attribute"}],
    )
    assert ItemTextTemplate("{title}").build(catalogue) == ["Column title", "Only attribute"]


def test_items_without_text_get_empty_strings() -> None:
    catalogue = make_catalogue(["1", "2"], ["Heat", ""])
    assert ItemTextTemplate().build(catalogue) == ["Heat", ""]


def test_catalogue_without_text_is_an_error_naming_the_fields() -> None:
    catalogue = make_catalogue(["1", "2"], ["", ""], source="items.csv")
    with pytest.raises(DataError) as caught:
        ItemTextTemplate("{title} ({year}). {description}").build(catalogue)
    message = str(caught.value)
    assert "items.csv" in message
    assert "['title', 'year', 'description']" in message
    assert "fallback" in message


def test_id_fallback_warns_and_gives_empty_texts(caplog: pytest.LogCaptureFixture) -> None:
    catalogue = make_catalogue(["1", "2"], ["", ""])
    template = ItemTextTemplate("{description}", allow_id_fallback=True)
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.template"):
        assert template.build(catalogue) == ["", ""]
    assert "falling back to item ids" in caplog.text
    assert "['description']" in caplog.text


def test_field_never_present_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    catalogue = make_catalogue(["1"], ["Heat"])
    with caplog.at_level(logging.WARNING, logger="sessionrec.text.template"):
        assert ItemTextTemplate("{title}. {descripton}").build(catalogue) == ["Heat"]
    assert "['descripton']" in caplog.text


def test_empty_catalogue_gives_no_texts() -> None:
    assert ItemTextTemplate().build(make_catalogue([], [])) == []


@pytest.mark.parametrize(
    "template", ["no fields here", "{title!r}", "{0}", "{attributes.year}", "{title", "{}"]
)
def test_bad_templates_are_config_errors(template: str) -> None:
    with pytest.raises(ConfigError, match="template"):
        ItemTextTemplate(template)


def test_bad_format_spec_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="format spec"):
        ItemTextTemplate("{year:d}").render({"year": "soon"})


def test_fields_lists_the_template_fields() -> None:
    assert ItemTextTemplate(DEFAULT_TEMPLATE).fields == ("title", "year", "categories", "text")


words = st.text(alphabet="abcdefgh", min_size=1, max_size=6)


@given(
    title=st.none() | words,
    year=st.none() | st.integers(1900, 2030),
    categories=st.lists(words, max_size=3),
    text=st.none() | words,
)
def test_rendering_never_leaves_empty_brackets_or_doubled_separators(
    title: str | None, year: int | None, categories: list[str], text: str | None
) -> None:
    rendered = ItemTextTemplate().render(
        {"title": title, "year": year, "categories": categories, "text": text}
    )
    assert "()" not in rendered
    assert ". ." not in rendered
    assert ".." not in rendered
    assert rendered == rendered.strip()
    assert not rendered.startswith((".", ","))
    present = [v for v in (title, str(year) if year else None, *categories, text) if v]
    for value in present:
        assert value in rendered
    if not present:
        assert rendered == ""
