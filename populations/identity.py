"""Resident identity numbers (GB 11643-1999) and ethnic groups (GB/T 3304-1991)."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IDENTITY_SHAPE = re.compile(r"^\d{17}[\dX]$")
# ISO 7064 MOD 11-2: weights 2^(17-i) mod 11 and the check character for each remainder.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def identity_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def normalise_identity_number(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def parse_identity_number(value: str, *, today: datetime.date | None = None) -> tuple[datetime.date, str]:
    """Validate an 18-character resident identity number; return (birth date, sex).

    Sex follows the parity of the 17th character (odd male, even female). Raises
    ``ValidationError`` naming what is wrong.
    """
    value = normalise_identity_number(value)
    if len(value) != 18:
        raise ValidationError(_("身份证号应为 18 位，实际为 %(n)d 位。") % {"n": len(value)}, code="length")
    if not IDENTITY_SHAPE.match(value):
        raise ValidationError(_("身份证号前 17 位须为数字，末位为数字或 X。"), code="characters")
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(
            _("身份证号中的出生日期 %(date)s 不是有效日期。") % {"date": value[6:14]}, code="birth_date"
        ) from None
    today = today or datetime.date.today()
    if born > today or born.year < 1900:
        raise ValidationError(_("身份证号中的出生日期 %(date)s 不合理。") % {"date": born.isoformat()}, code="birth_date")
    expected = identity_check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("身份证号校验位错误：末位应为 %(expected)s，实际为 %(actual)s。") % {"expected": expected, "actual": value[17]},
            code="check_digit",
        )
    sex = "M" if int(value[16]) % 2 else "F"
    return born, sex


def make_identity_number(region: str, born: datetime.date, sequence: int, sex: str) -> str:
    """A valid number for demo data and tests: region (6), birth date, a 3-digit order code
    whose parity gives the sex, and the check character."""
    order = sequence % 500 * 2 + (1 if sex == "M" else 0)
    first17 = f"{region}{born:%Y%m%d}{order:03d}"
    return first17 + identity_check_character(first17)


# GB/T 3304-1991 codes and names of China's ethnic groups; Kaili is mostly Miao (06) and Dong (12).
ETHNICITIES = [
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"), ("06", "苗族"),
    ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"), ("11", "满族"), ("12", "侗族"),
    ("13", "瑶族"), ("14", "白族"), ("15", "土家族"), ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"),
    ("19", "黎族"), ("20", "傈僳族"), ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"),
    ("25", "水族"), ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"), ("36", "毛南族"),
    ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"), ("41", "塔吉克族"), ("42", "怒族"),
    ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"), ("46", "德昂族"), ("47", "保安族"), ("48", "裕固族"),
    ("49", "京族"), ("50", "塔塔尔族"), ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"), ("54", "门巴族"),
    ("55", "珞巴族"), ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
]  # fmt: skip
ETHNICITY_BY_NAME = {name: code for code, name in ETHNICITIES}
