"""The seeded tables of the "132" mechanism (DOMAIN.md, "Disputes" and "Dispute
records"): categories, scales, the three lines with their tiers and time limits, the
city-level bodies and the courts. Village committees are bodies too; they are added
with the tree (``disputes.demo``) or by an admin."""

# (code, name, incident category code turned into this category)
CATEGORIES = (
    ("01", "婚姻家庭纠纷", "2901"),
    ("02", "邻里纠纷", "2902"),
    ("03", "房屋宅基地纠纷", "2903"),
    ("04", "山林土地纠纷", "2904"),
    ("05", "合同纠纷", "2905"),
    ("06", "生产经营纠纷", "2906"),
    ("07", "损害赔偿纠纷", "2907"),
    ("08", "征地拆迁纠纷", "2908"),
    ("09", "劳动争议（欠薪）纠纷", "2909"),
    ("10", "医疗纠纷", "2910"),
    ("11", "环境污染纠纷", "2911"),
    ("12", "其他纠纷", "2912"),
)
OTHER_CATEGORY = "12"

SCALES = (("general", "一般"), ("major", "较大"), ("serious", "重大"))

# kind, name, order, ((level, name, days), ...). People's mediation is generally settled
# within one month; the judicial tiers follow the court-linked limits.
LINES = (
    ("people", "人民调解", 1, ((1, "网格员调解", 30), (2, "村（社区）调解委员会", 30), (3, "村（居）委会主任调解", 30))),
    ("administrative", "行政调解", 2, ((1, "调解员调解", 30), (2, "股长调解", 30), (3, "局长调解", 30))),
    ("judicial", "司法调解", 3, ((1, "诉前调解", 30), (2, "审中调解", 15), (3, "判后调解", 30))),
)

# name, kind, line, tier level (or None), category codes it specialises in
BODIES = (
    ("凯里市医疗纠纷人民调解委员会", "industry", "people", 2, ("10",)),
    ("凯里市道路交通事故纠纷人民调解委员会", "industry", "people", 2, ("07",)),
    ("凯里市劳动人事争议调解中心", "industry", "people", 2, ("09",)),
    ("凯里市婚姻家庭纠纷人民调解委员会", "industry", "people", 2, ("01",)),
    ("凯里市人力资源和社会保障局", "department", "administrative", 1, ("09",)),
    ("凯里市自然资源局", "department", "administrative", 1, ("04", "08")),
    ("凯里市生态环境局", "department", "administrative", 1, ("11",)),
    ("凯里市卫生健康局", "department", "administrative", 1, ("10",)),
    ("凯里市人民法院诉调对接中心", "court", "judicial", 1, ()),
    ("凯里市人民法院", "court", "judicial", 2, ()),
)

COURTS = (("kaili", "凯里市人民法院"), ("qiandongnan", "黔东南州中级人民法院"))


def seed_tables(apps) -> None:
    """Idempotent: rows an admin has edited keep their edits; only missing rows are added."""
    Category = apps.get_model("disputes", "DisputeCategory")
    Scale = apps.get_model("disputes", "DisputeScale")
    Line = apps.get_model("disputes", "MediationLine")
    Tier = apps.get_model("disputes", "Tier")
    Body = apps.get_model("disputes", "MediationBody")
    Court = apps.get_model("disputes", "Court")
    IncidentCategory = apps.get_model("cases", "Category")

    incident_categories = {c.code: c for c in IncidentCategory.objects.filter(code__in=[c[2] for c in CATEGORIES])}
    for sort, (code, name, incident_code) in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(
            code=code, defaults={"name": name, "sort": sort, "incident_category": incident_categories.get(incident_code)}
        )
    for sort, (code, name) in enumerate(SCALES, start=1):
        Scale.objects.get_or_create(code=code, defaults={"name": name, "sort": sort})
    for kind, name, order, tiers in LINES:
        line, _created = Line.objects.get_or_create(kind=kind, defaults={"name": name, "order": order})
        for level, tier_name, days in tiers:
            if not Tier.objects.filter(line=line, level=level).exists():
                # historical models have no custom save(): set the rank here
                Tier.objects.create(line=line, level=level, name=tier_name, days=days, rank=line.order * 10 + level)
    categories = {c.code: c for c in Category.objects.all()}
    for name, kind, line_kind, level, codes in BODIES:
        if Body.objects.filter(name=name).exists():
            continue
        line = Line.objects.get(kind=line_kind)
        body = Body.objects.create(
            name=name, kind=kind, line=line, tier=Tier.objects.filter(line=line, level=level).first() if level else None
        )
        body.categories.set([categories[code] for code in codes if code in categories])
    for code, name in COURTS:
        Court.objects.get_or_create(code=code, defaults={"name": name})
