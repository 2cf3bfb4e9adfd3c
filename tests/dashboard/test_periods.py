"""Statistical periods (dashboard/periods.py): codes, the reasons a code is refused, and
the arithmetic the cards and trends rely on (同比, 环比, trailing months) across year ends."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from dashboard.periods import MONTH, QUARTER, YEAR, Period, month_range


@pytest.mark.parametrize(
    ("code", "kind", "number", "start", "end"),
    [
        ("2016", YEAR, 1, datetime.date(2016, 1, 1), datetime.date(2017, 1, 1)),
        ("2016Q1", QUARTER, 1, datetime.date(2016, 1, 1), datetime.date(2016, 4, 1)),
        ("2016Q4", QUARTER, 4, datetime.date(2016, 10, 1), datetime.date(2017, 1, 1)),
        ("2016-02", MONTH, 2, datetime.date(2016, 2, 1), datetime.date(2016, 3, 1)),
        ("2016-12", MONTH, 12, datetime.date(2016, 12, 1), datetime.date(2017, 1, 1)),
        (" 2016-05 ", MONTH, 5, datetime.date(2016, 5, 1), datetime.date(2016, 6, 1)),
    ],
)
def test_a_code_names_a_period_with_its_first_day_and_the_day_after_its_last(code, kind, number, start, end):
    period = Period.parse(code)
    assert (period.year, period.kind, period.number) == (2016, kind, number)
    assert (period.start, period.end) == (start, end)
    assert Period.parse(period.code) == period  # the code reads back
    assert str(period) == period.code == code.strip()


@pytest.mark.parametrize("code", ["2016-5", "16", "2016Q5", "2016Q0", "2016-1-01", "2016/05", "二〇一六", "", None, "2016Q2x"])
def test_a_malformed_code_is_refused_with_the_forms_a_period_takes(code):
    with pytest.raises(ValidationError) as refused:
        Period.parse(code)
    assert refused.value.code == "invalid"
    (message,) = refused.value.messages
    assert "不是有效的统计期" in message and "2016Q2" in message and "2016-05" in message


@pytest.mark.parametrize("code", ["2016-00", "2016-13"])
def test_a_month_out_of_range_is_refused_naming_the_code(code):
    with pytest.raises(ValidationError) as refused:
        Period.parse(code)
    assert refused.value.code == "invalid"
    assert refused.value.messages == [f"“{code}”的月份应为 01-12。"]


@pytest.mark.parametrize("code", ["1989", "2101-01", "2101Q1"])
def test_a_year_out_of_range_is_refused_with_the_range(code):
    with pytest.raises(ValidationError) as refused:
        Period.parse(code)
    assert refused.value.messages == ["统计期的年份应在 1990-2100 之间。"]


def test_a_year_out_of_range_carries_the_same_code_as_the_other_refusals():
    with pytest.raises(ValidationError) as refused:
        Period.parse("1989")
    assert refused.value.code == "invalid"


def test_the_first_and_last_years_allowed_parse():
    assert Period.parse("1990").start == datetime.date(1990, 1, 1)
    assert Period.parse("2100-12").end == datetime.date(2101, 1, 1)


@pytest.mark.parametrize(
    ("code", "previous", "last_year"),
    [
        ("2016-01", "2015-12", "2015-01"),
        ("2016-03", "2016-02", "2015-03"),
        ("2016Q1", "2015Q4", "2015Q1"),
        ("2016Q3", "2016Q2", "2015Q3"),
        ("2016", "2015", "2015"),
    ],
)
def test_previous_and_last_year_cross_year_ends(code, previous, last_year):
    period = Period.parse(code)
    assert period.previous().code == previous  # 环比
    assert period.last_year().code == last_year  # 同比


def test_shifting_goes_either_way_over_several_years():
    assert Period.parse("2016-11").shifted(3).code == "2017-02"
    assert Period.parse("2016-02").shifted(-14).code == "2014-12"
    assert Period.parse("2016Q4").shifted(5).code == "2018Q1"
    assert Period.parse("2016Q1").shifted(-9).code == "2013Q4"
    assert Period.parse("2016").shifted(-2).code == "2014"
    assert Period.parse("2016-07").shifted(0) == Period.parse("2016-07")


def test_trailing_periods_end_with_the_period_oldest_first():
    assert [p.code for p in Period.parse("2017-02").trailing(4)] == ["2016-11", "2016-12", "2017-01", "2017-02"]
    assert [p.code for p in Period.parse("2017Q1").trailing(3)] == ["2016Q3", "2016Q4", "2017Q1"]
    year = Period.parse("2016-06").trailing(12)
    assert (len(year), year[0].code, year[-1].code) == (12, "2015-07", "2016-06")
    assert Period.parse("2016").trailing(1) == [Period.parse("2016")]


@pytest.mark.parametrize(
    ("code", "months"),
    [
        ("2016Q1", ["2016-01", "2016-02", "2016-03"]),
        ("2016Q4", ["2016-10", "2016-11", "2016-12"]),
        ("2016-08", ["2016-08"]),
    ],
)
def test_the_months_of_a_period(code, months):
    assert [month.code for month in Period.parse(code).months()] == months


def test_a_year_has_twelve_months_and_each_month_lies_in_its_quarter_and_year():
    year = Period.parse("2016")
    months = year.months()
    assert [m.code for m in months][:2] == ["2016-01", "2016-02"] and len(months) == 12
    for month in months:
        quarter = month.containing(QUARTER)
        assert month in quarter.months()
        assert quarter.start <= month.start < month.end <= quarter.end
        assert month.containing(YEAR) == year == quarter.containing(YEAR)
        assert month.containing(MONTH) == month
    with pytest.raises(ValueError):
        Period.parse("2016Q2").containing(MONTH)


def test_month_of_a_day_and_the_months_between_two_days():
    assert Period.month_of(datetime.date(2016, 12, 31)).code == "2016-12"
    months = month_range(datetime.date(2015, 11, 30), datetime.date(2016, 2, 1))
    assert [m.code for m in months] == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert [m.code for m in month_range(datetime.date(2016, 5, 1), datetime.date(2016, 5, 31))] == ["2016-05"]
    assert month_range(datetime.date(2016, 6, 1), datetime.date(2016, 5, 1)) == []


def test_future_ongoing_and_current_periods_depend_on_the_day():
    today = datetime.date(2016, 5, 20)
    assert Period.current(MONTH, today).code == "2016-05"
    assert Period.current(QUARTER, today).code == "2016Q2"
    assert Period.current(YEAR, today).code == "2016"
    assert Period.parse("2016Q2").is_ongoing(today) and not Period.parse("2016Q2").is_future(today)
    assert Period.parse("2016-06").is_future(today) and not Period.parse("2016-06").is_ongoing(today)
    assert not Period.parse("2016-04").is_ongoing(today) and not Period.parse("2016-04").is_future(today)
    assert Period.parse("2016-05").is_ongoing(datetime.date(2016, 5, 1))
    assert not Period.parse("2016-05").is_ongoing(datetime.date(2016, 6, 1))


def test_labels_read_in_chinese():
    assert Period.parse("2016").label == "2016年"
    assert Period.parse("2016Q2").label == "2016年第2季度"
    assert Period.parse("2016-05").label == "2016年5月"


def test_periods_of_a_kind_sort_in_time():
    codes = ["2017-01", "2016-12", "2016-02", "2015-12"]
    assert [p.code for p in sorted(Period.parse(c) for c in codes)] == ["2015-12", "2016-02", "2016-12", "2017-01"]
