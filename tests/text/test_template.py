"""Tests for item text templates: fields from columns and attributes, clean dropping."""

from __future__ import annotations

import logging
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.data.schema import Catalogue, make_catalogue
from sessionrec.errors import ConfigError, DataError
from sessionrec.text.template import DEFAULT_TEMPLATE, ItemTextTemplate, _parse, _unparse


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


def shop_catalogue() -> Catalogue:
    return make_catalogue(
        ["P01", "P02"],
        ["Burr grinder", "Gooseneck kettle"],
        texts=["Steel burrs, 40 settings.", "Pour-over kettle."],
        categories=[["Kitchen", "Coffee"], ["Kitchen", "Tea"]],
        attributes=[{"brand": "Mahlwerk"}, {"brand": "Brewline"}],
        source="items.csv",
    )


def test_the_default_template_fits_a_catalogue_without_years(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalogue = shop_catalogue()
    fitted = ItemTextTemplate.for_catalogue(catalogue)
    assert fitted.template == "{title}. {categories}. {text}"
    with caplog.at_level(logging.INFO, logger="sessionrec.text.template"):
        texts = fitted.build(catalogue)
    assert texts == ItemTextTemplate().texts(catalogue)  # the same texts, said without a year
    assert texts[0] == "Burr grinder. Kitchen, Coffee. Steel burrs, 40 settings."
    assert caplog.records == []


def test_a_film_catalogue_keeps_the_default_template_and_others_keep_theirs() -> None:
    films = make_catalogue(["1"], ["Heat"], ["A heist."], [["Crime"]], attributes=[{"year": 1995}])
    assert ItemTextTemplate.for_catalogue(films).template == DEFAULT_TEMPLATE
    written = "{title} [{year}] {brand}"
    assert ItemTextTemplate.for_catalogue(shop_catalogue(), written).template == written


@pytest.mark.parametrize(
    "template",
    [
        DEFAULT_TEMPLATE,
        "Item: {title} [{price:.2f} EUR]! {text}",
        "({year}) {title}: {categories}.",
    ],
)
def test_a_parsed_template_is_written_back_as_it_was_read(template: str) -> None:
    prefix, parts, suffix = _parse(template)
    assert _parse(_unparse(prefix, parts, suffix)) == (prefix, parts, suffix)


def test_missing_fields_are_reported_once_per_template_not_per_item(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The engine builds a one-item catalogue for every item it adds.
    default, misspelt = ItemTextTemplate(), ItemTextTemplate("{title}. {descripton}")
    with caplog.at_level(logging.INFO, logger="sessionrec.text.template"):
        for i in range(5):
            item = make_catalogue([f"P{i}"], [f"Product {i}"])
            default.build(item)
            misspelt.build(item)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "item text template fields ['descripton'] have no value for any item of the catalogue"
    ]
    # The film-shaped default meeting a shop says so once, without alarm.
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == [
        "the catalogue has no year, categories, text for any item; item texts are built from title"
    ]
