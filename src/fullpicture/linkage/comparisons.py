"""What the linkage model compares, and which pairs it looks at (splink settings).

Every level is written in SQL that DuckDB and Spark both understand (``=``, ``instr``,
``substr``, and splink's own string-distance levels), so one model runs on either engine.
Columns come from ``preparation.prepare``.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator


class _Comparison(cl.CustomComparison):
    """splink's CustomComparison, keeping its description (splink shows the class name)."""

    def create_description(self) -> str:
        return str(self._description or super().create_description())


def _either_null(column: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(
        f"{column}_l IS NULL OR {column}_r IS NULL", label_for_charts=f"{column} missing"
    ).configure(is_null_level=True)


def _exact(column: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(f"{column}_l = {column}_r", label_for_charts=label)


def _among_others(value: str, tokens: str, label: str) -> cll.CustomLevel:
    """One record's value appears in the other's ``|``-delimited list, either way round."""
    return cll.CustomLevel(
        f"instr({tokens}_r, concat('|', {value}_l, '|')) > 0 "
        f"OR instr({tokens}_l, concat('|', {value}_r, '|')) > 0",
        label_for_charts=label,
    )


def given_name_comparison() -> _Comparison:
    return _Comparison(
        output_column_name="given_name",
        comparison_description="Given name: exact, known variant or short form, alias, spelling, sound",
        comparison_levels=[
            _either_null("given_name"),
            _exact("given_name", "same given name"),
            _among_others(
                "given_name_canonical",
                "given_name_canonicals",
                "known variant (nickname / short form)",
            ),
            cll.CustomLevel(
                "length(given_name_l) >= 3 AND length(given_name_r) >= 3 AND ("
                "substr(given_name_l, 1, length(given_name_r)) = given_name_r OR "
                "substr(given_name_r, 1, length(given_name_l)) = given_name_l)",
                label_for_charts="one is a short form of the other",
            ),
            _among_others("given_name", "given_names_all", "given name among the other's names"),
            cll.JaroWinklerLevel("given_name", 0.92).configure(
                label_for_charts="spelling very close (Jaro-Winkler >= 0.92)"
            ),
            _exact("given_name_phonetic", "sounds alike"),
            cll.JaroWinklerLevel("given_name", 0.8).configure(
                label_for_charts="spelling close (Jaro-Winkler >= 0.8)"
            ),
            cll.ElseLevel(),
        ],
    )


def family_name_comparison() -> _Comparison:
    return _Comparison(
        output_column_name="family_name",
        comparison_description="Family name: exact, hyphenated part or previous surname, spelling, sound",
        comparison_levels=[
            _either_null("family_name"),
            _exact("family_name", "same family name"),
            _among_others(
                "family_name",
                "family_names_all",
                "part of a hyphenated name, or a previous family name",
            ),
            cll.JaroWinklerLevel("family_name", 0.92).configure(
                label_for_charts="spelling very close (Jaro-Winkler >= 0.92)"
            ),
            _exact("family_name_phonetic", "sounds alike"),
            cll.JaroWinklerLevel("family_name", 0.8).configure(
                label_for_charts="spelling close (Jaro-Winkler >= 0.8)"
            ),
            cll.ElseLevel(),
        ],
    )


def date_of_birth_comparison() -> _Comparison:
    return _Comparison(
        output_column_name="date_of_birth",
        comparison_description="Date of birth: exact, day and month swapped, one-character slip, near",
        comparison_levels=[
            _either_null("date_of_birth"),
            _exact("date_of_birth", "same date of birth"),
            cll.CustomLevel(
                "date_of_birth_transposed_l = date_of_birth_r",
                label_for_charts="day and month swapped",
            ),
            cll.DamerauLevenshteinLevel("date_of_birth", 1).configure(
                label_for_charts="one digit mistyped or two swapped"
            ),
            cll.CustomLevel(
                "substr(date_of_birth_l, 1, 7) = substr(date_of_birth_r, 1, 7)",
                label_for_charts="same year and month",
            ),
            cll.CustomLevel(
                "substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4)",
                label_for_charts="same year",
            ),
            cll.ElseLevel(),
        ],
    )


def sex_comparison() -> _Comparison:
    return _Comparison(
        output_column_name="sex",
        comparison_description="Sex recorded",
        comparison_levels=[_either_null("sex"), _exact("sex", "same sex"), cll.ElseLevel()],
    )


def residence_comparison() -> _Comparison:
    """Postcode and address line as one comparison: they say the same thing twice, and
    counting them as independent evidence would double the weight of a shared home
    (a parent and child of the same name would look like one person)."""
    return _Comparison(
        output_column_name="residence",
        comparison_description="Postcode and address: current, any previous, same area",
        comparison_levels=[
            cll.CustomLevel(
                "(postcode_l IS NULL AND address_l IS NULL) OR "
                "(postcode_r IS NULL AND address_r IS NULL)",
                label_for_charts="no address on one record",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                "postcode_l = postcode_r AND address_l = address_r",
                label_for_charts="same current address and postcode",
            ),
            _exact("postcode", "same current postcode"),
            _exact("address", "same current address line"),
            cll.CustomLevel(
                "instr(postcodes_all_r, concat('|', postcode_l, '|')) > 0 "
                "OR instr(postcodes_all_l, concat('|', postcode_r, '|')) > 0 "
                "OR instr(addresses_all_r, concat('|', address_l, '|')) > 0 "
                "OR instr(addresses_all_l, concat('|', address_r, '|')) > 0",
                label_for_charts="current address in the other's address history",
            ),
            cll.JaroWinklerLevel("address", 0.9).configure(
                label_for_charts="address spelled very similarly (Jaro-Winkler >= 0.9)"
            ),
            _exact("postcode_sector", "same postcode sector"),
            _exact("postcode_district", "same postcode district"),
            cll.ElseLevel(),
        ],
    )


def identifier_comparison(column: str, description: str) -> _Comparison:
    """A recorded identifier: strong evidence, not proof; a one-character slip still counts."""
    return _Comparison(
        output_column_name=column,
        comparison_description=description,
        comparison_levels=[
            _either_null(column),
            _exact(column, f"same {column.replace('_', ' ')}"),
            cll.DamerauLevenshteinLevel(column, 1).configure(
                label_for_charts="one character mistyped or two swapped"
            ),
            cll.ElseLevel(),
        ],
    )


def prediction_blocking_rules() -> list[Any]:
    """Pairs worth scoring. Each rule survives a typo in the fields the others rely on, so a
    single slip in a name, a date or a postcode never hides a true pair."""
    return [
        block_on("nhs_number"),
        block_on("upn"),
        block_on("date_of_birth", "family_name_phonetic"),
        block_on("date_of_birth", "given_name_phonetic"),
        block_on("date_of_birth", "given_name_canonical"),
        block_on("date_of_birth", "postcode"),
        block_on("given_name_phonetic", "family_name_phonetic", "postcode_district"),
        block_on("given_name_canonical", "family_name", "substr(date_of_birth, 1, 4)"),
        block_on("given_name_canonical", "family_name_phonetic", "substr(date_of_birth, 6, 5)"),
        block_on("family_name", "postcode", "sex"),
    ]


def linkage_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            given_name_comparison(),
            family_name_comparison(),
            date_of_birth_comparison(),
            sex_comparison(),
            residence_comparison(),
            identifier_comparison("nhs_number", "NHS number (strong, not infallible)"),
            identifier_comparison("upn", "School unique pupil number (strong, not infallible)"),
        ],
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["source"],
    )
