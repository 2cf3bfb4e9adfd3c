"""Resident identity numbers: shape, birth date, ISO 7064 MOD 11-2 check character."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from populations.identity import identity_check_character, make_identity_number, parse_identity_number


def test_the_standards_example_checks_out():
    number = "11010519491231002X"  # GB 11643-1999's own example
    assert identity_check_character(number[:17]) == "X"
    assert parse_identity_number(number) == (datetime.date(1949, 12, 31), "F")


def test_birth_date_and_sex_come_from_the_number():
    number = make_identity_number("522601", datetime.date(1988, 2, 29), 12, "M")
    assert parse_identity_number(number) == (datetime.date(1988, 2, 29), "M")
    number = make_identity_number("522601", datetime.date(2011, 7, 1), 3, "F")
    assert parse_identity_number(number) == (datetime.date(2011, 7, 1), "F")


def test_lowercase_x_and_spaces_are_accepted():
    assert parse_identity_number(" 11010519491231002x ")[0] == datetime.date(1949, 12, 31)


def _reason(number):
    with pytest.raises(ValidationError) as error:
        parse_identity_number(number, today=datetime.date(2026, 11, 27))
    return error.value.code, error.value.messages[0]


def test_wrong_check_digit_is_refused_with_the_expected_one():
    good = make_identity_number("522601", datetime.date(1990, 1, 1), 5, "M")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    code, message = _reason(wrong)
    assert code == "check_digit"
    assert f"末位应为 {good[17]}" in message


@pytest.mark.parametrize(
    "number, code",
    [
        ("52260119900101", "length"),
        ("5226011990010112345", "length"),
        ("52260119900101A234", "characters"),
        ("522601199002300012", "birth_date"),  # 30 February
        ("522601199013010012", "birth_date"),  # month 13
        ("522601203001010012", "birth_date"),  # born in the future
        ("522601188001010012", "birth_date"),  # before 1900
    ],
)
def test_malformed_numbers_are_refused_with_the_reason(number, code):
    assert _reason(number)[0] == code
