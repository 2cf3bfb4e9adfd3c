"""Seed data: the incident categories, the handling departments and the holiday calendar.

Plain Python data, importable without Django settings, so that the seeding code, the
demo data and the tests all read the same catalogue.

``CATEGORY_TREE`` is the two-level category tree (major / minor). A major is a dict with
``code`` (two digits), ``name``, ``kind`` and ``children``; a minor has ``code`` (the major's
code and two digits) and ``name``. Both may carry the optional keys in ``OPTIONAL_KEYS``;
a minor inherits every optional key it does not set from its major (``iter_minors``).

``HOLIDAYS`` lists the working-calendar exceptions from the State Council's yearly notices
(国务院办公厅关于某年部分节假日安排的通知): ``(iso date, working, name)``, ``working``
False for every day off inside a holiday period, True for a make-up working day (调休上班).
"""

import datetime

KINDS = ("nine_small", "service", "criminal", "public_order", "accident", "petition", "dispute", "other")
OPTIONAL_KEYS = (
    "kind",
    "urgent",
    "dispute_related",
    "statistic",
    "department",
    "handle_minutes",
    "file_minutes",
    "dispatch_minutes",
)

# Defaults used where neither the minor nor its major sets a value (see cases.models.Category).
DEFAULT_HANDLE_MINUTES = 5 * 8 * 60  # 5 working days of 8 hours
ONE_WORKING_DAY = 8 * 60  # "a streetlight: 1 working day"

# ---------------------------------------------------------------------------------------
# Handling departments (承办单位) at city level: (code, name).
# ---------------------------------------------------------------------------------------

DEPARTMENTS = [
    ("gongan", "凯里市公安局"),
    ("jiaojing", "凯里市公安局交通警察大队"),
    ("xiaofang", "凯里市消防救援大队"),
    ("sifa", "凯里市司法局"),
    ("xinfang", "凯里市信访局"),
    ("anjian", "凯里市应急管理局"),
    ("minzheng", "凯里市民政局"),
    ("renshe", "凯里市人力资源和社会保障局"),
    ("yibao", "凯里市医疗保障局"),
    ("weijian", "凯里市卫生健康局"),
    ("jiaoyu", "凯里市教育局"),
    ("zhujian", "凯里市住房和城乡建设局"),
    ("chengguan", "凯里市城市管理局"),
    ("jiaotong", "凯里市交通运输局"),
    ("ziran", "凯里市自然资源局"),
    ("nongye", "凯里市农业农村局"),
    ("linye", "凯里市林业局"),
    ("shuiwu", "凯里市水务局"),
    ("shijian", "凯里市市场监督管理局"),
    ("huanbao", "凯里市生态环境局"),
    ("wenlv", "凯里市文体广电旅游局"),
    ("tuiyi", "凯里市退役军人事务局"),
    ("canlian", "凯里市残疾人联合会"),
    ("fulian", "凯里市妇女联合会"),
    ("zuzhi", "中共凯里市委组织部"),
    ("gongdian", "凯里供电局"),
]


def _c(code: str, name: str, **options) -> dict:
    """A minor category."""
    return {"code": code, "name": name, **options}


# ---------------------------------------------------------------------------------------
# Incident categories.
# ---------------------------------------------------------------------------------------

NINE_SMALL = [
    {
        "code": "01",
        "name": "九小工作",
        "kind": "nine_small",
        "children": [
            _c("0101", "排查小隐患", statistic="nine_hazard"),
            _c("0102", "控制小苗头", statistic="nine_sign"),
            _c("0103", "调处小纠纷", statistic="nine_dispute", dispute_related=True),
            _c("0104", "办理小事务", statistic="nine_affair"),
            _c("0105", "整治小环境", statistic="nine_environment"),
            _c("0106", "收集小信息", statistic="nine_information"),
            _c("0107", "解决小问题", statistic="nine_problem"),
            _c("0108", "推进小宣传", statistic="nine_publicity"),
            _c("0109", "提供小服务", statistic="nine_service"),
        ],
    },
]

# The party, government and livelihood services moved down into the grids (党务、政务、
# 民生服务事项下沉网格): 23 majors, 83 minors.
SERVICE = [
    {
        "code": "02",
        "name": "社会保障",
        "kind": "service",
        "department": "renshe",
        "children": [
            _c("0201", "养老保险参保"),
            _c("0202", "医疗保险参保", department="yibao"),
            _c("0203", "失业登记"),
            _c("0204", "社会保障卡办理"),
        ],
    },
    {
        "code": "03",
        "name": "民政救助",
        "kind": "service",
        "department": "minzheng",
        "children": [
            _c("0301", "低保申请"),
            _c("0302", "特困供养"),
            _c("0303", "临时救助"),
            _c("0304", "残疾人两项补贴"),
        ],
    },
    {
        "code": "04",
        "name": "计划生育与卫生健康",
        "kind": "service",
        "department": "weijian",
        "children": [
            _c("0401", "生育登记服务"),
            _c("0402", "计划生育家庭奖励扶助"),
            _c("0403", "预防接种服务"),
            _c("0404", "家庭医生签约"),
        ],
    },
    {
        "code": "05",
        "name": "户籍证件",
        "kind": "service",
        "department": "gongan",
        "children": [
            _c("0501", "出生登记"),
            _c("0502", "户口迁移"),
            _c("0503", "居民身份证办理"),
            _c("0504", "居住证办理"),
        ],
    },
    {
        "code": "06",
        "name": "就业创业",
        "kind": "service",
        "department": "renshe",
        "children": [
            _c("0601", "就业登记"),
            _c("0602", "就业援助"),
            _c("0603", "创业担保贷款"),
            _c("0604", "职业技能培训"),
        ],
    },
    {
        "code": "07",
        "name": "教育入学",
        "kind": "service",
        "department": "jiaoyu",
        "children": [
            _c("0701", "义务教育入学"),
            _c("0702", "学生资助"),
            _c("0703", "控辍保学"),
        ],
    },
    {
        "code": "08",
        "name": "住房保障",
        "kind": "service",
        "department": "zhujian",
        "children": [
            _c("0801", "公租房申请"),
            _c("0802", "农村危房改造"),
            _c("0803", "棚户区改造安置"),
            _c("0804", "房屋安全隐患"),
        ],
    },
    {
        "code": "09",
        "name": "农业农村",
        "kind": "service",
        "department": "nongye",
        "children": [
            _c("0901", "耕地地力保护补贴"),
            _c("0902", "农村宅基地申请"),
            _c("0903", "动物疫病防控"),
            _c("0904", "农技服务"),
        ],
    },
    {
        "code": "10",
        "name": "林业",
        "kind": "service",
        "department": "linye",
        "children": [
            _c("1001", "林木采伐许可"),
            _c("1002", "森林防火隐患"),
            _c("1003", "野生动物保护"),
        ],
    },
    {
        "code": "11",
        "name": "水利",
        "kind": "service",
        "department": "shuiwu",
        "children": [
            _c("1101", "农村饮水安全"),
            _c("1102", "水利设施损毁"),
            _c("1103", "防汛抗旱"),
        ],
    },
    {
        "code": "12",
        "name": "城市管理",
        "kind": "service",
        "department": "chengguan",
        "children": [
            _c("1201", "路灯不亮", handle_minutes=ONE_WORKING_DAY),
            _c("1202", "井盖缺失破损", handle_minutes=ONE_WORKING_DAY),
            _c("1203", "占道经营"),
            _c("1204", "违法建设"),
        ],
    },
    {
        "code": "13",
        "name": "市政设施",
        "kind": "service",
        "department": "zhujian",
        "children": [
            _c("1301", "道路破损"),
            _c("1302", "排水管道堵塞", handle_minutes=ONE_WORKING_DAY),
            _c("1303", "公共设施损坏"),
            _c("1304", "桥梁隐患"),
        ],
    },
    {
        "code": "14",
        "name": "环境卫生",
        "kind": "service",
        "department": "chengguan",
        "children": [
            _c("1401", "垃圾清运", handle_minutes=ONE_WORKING_DAY),
            _c("1402", "公厕管理"),
            _c("1403", "乱扔乱倒"),
            _c("1404", "卫生死角"),
        ],
    },
    {
        "code": "15",
        "name": "交通出行",
        "kind": "service",
        "department": "jiaotong",
        "children": [
            _c("1501", "公交线路站点"),
            _c("1502", "出租车服务"),
            _c("1503", "农村客运"),
        ],
    },
    {
        "code": "16",
        "name": "党员服务",
        "kind": "service",
        "department": "zuzhi",
        "children": [
            _c("1601", "党组织关系转接"),
            _c("1602", "流动党员管理"),
            _c("1603", "困难党员帮扶"),
        ],
    },
    {
        "code": "17",
        "name": "退役军人",
        "kind": "service",
        "department": "tuiyi",
        "children": [
            _c("1701", "退役军人信息采集"),
            _c("1702", "优待证办理"),
            _c("1703", "优抚对象帮扶"),
        ],
    },
    {
        "code": "18",
        "name": "老龄服务",
        "kind": "service",
        "department": "minzheng",
        "children": [
            _c("1801", "高龄津贴"),
            _c("1802", "居家养老服务"),
            _c("1803", "老年人优待"),
        ],
    },
    {
        "code": "19",
        "name": "残疾人服务",
        "kind": "service",
        "department": "canlian",
        "children": [
            _c("1901", "残疾人证办理"),
            _c("1902", "残疾人康复服务"),
            _c("1903", "残疾人就业扶持"),
        ],
    },
    {
        "code": "20",
        "name": "妇女儿童",
        "kind": "service",
        "department": "fulian",
        "children": [
            _c("2001", "留守儿童关爱"),
            _c("2002", "困境儿童保障", department="minzheng"),
            _c("2003", "妇女权益维护"),
            _c("2004", "家庭暴力求助", urgent=True, dispute_related=True),
        ],
    },
    {
        "code": "21",
        "name": "法律服务",
        "kind": "service",
        "department": "sifa",
        "children": [
            _c("2101", "法律咨询"),
            _c("2102", "法律援助申请"),
            _c("2103", "人民调解申请", dispute_related=True),
            _c("2104", "社区矫正"),
        ],
    },
    {
        "code": "22",
        "name": "市场监管",
        "kind": "service",
        "department": "shijian",
        "children": [
            _c("2201", "食品安全"),
            _c("2202", "消费投诉"),
            _c("2203", "价格违法"),
            _c("2204", "无证无照经营"),
        ],
    },
    {
        "code": "23",
        "name": "文化体育",
        "kind": "service",
        "department": "wenlv",
        "children": [
            _c("2301", "公共文化活动"),
            _c("2302", "全民健身设施"),
            _c("2303", "文化市场管理"),
        ],
    },
    {
        "code": "24",
        "name": "水电气",
        "kind": "service",
        "department": "gongdian",
        "children": [
            _c("2401", "停电报修", handle_minutes=ONE_WORKING_DAY),
            _c("2402", "电力设施隐患"),
            _c("2403", "供水报修", department="shuiwu", handle_minutes=ONE_WORKING_DAY),
            _c("2404", "燃气服务", department="zhujian"),
        ],
    },
]

OTHERS = [
    {
        "code": "25",
        "name": "刑事案件",
        "kind": "criminal",
        "department": "gongan",
        "children": [
            _c("2501", "抢劫抢夺", statistic="robbery", urgent=True),
            _c("2502", "盗窃", statistic="theft"),
            _c("2503", "命案", statistic="homicide", urgent=True),
            _c("2504", "诈骗（含电信诈骗）", statistic="fraud"),
            _c("2505", "毒品犯罪", statistic="drug"),
            _c("2506", "其他刑事案件", statistic="criminal_other"),
        ],
    },
    {
        "code": "26",
        "name": "治安案件",
        "kind": "public_order",
        "statistic": "public_order",
        "department": "gongan",
        "children": [
            _c("2601", "殴打他人"),
            _c("2602", "寻衅滋事"),
            _c("2603", "赌博"),
            _c("2604", "卖淫嫖娼"),
            _c("2605", "扰乱公共秩序"),
            _c("2606", "其他治安案件"),
        ],
    },
    {
        "code": "27",
        "name": "安全事故",
        "kind": "accident",
        "department": "anjian",
        "children": [
            _c("2701", "安全生产事故", statistic="accident_safety", department="anjian"),
            _c("2702", "道路交通事故", statistic="accident_traffic", department="jiaojing"),
            _c("2703", "火灾事故", statistic="accident_fire", department="xiaofang", urgent=True),
            _c("2704", "其他事故", statistic="accident_other"),
        ],
    },
    {
        "code": "28",
        "name": "信访",
        "kind": "petition",
        "statistic": "petition",
        "department": "xinfang",
        "children": [
            _c("2801", "来信"),
            _c("2802", "来访"),
            _c("2803", "网上信访"),
            _c("2804", "集体访"),
            _c("2805", "其他信访"),
        ],
    },
    {
        "code": "29",
        "name": "矛盾纠纷",
        "kind": "dispute",
        "dispute_related": True,
        "statistic": "dispute",
        "department": "sifa",
        "children": [
            _c("2901", "婚姻家庭纠纷"),
            _c("2902", "邻里纠纷"),
            _c("2903", "房屋宅基地纠纷"),
            _c("2904", "山林土地纠纷", department="ziran"),
            _c("2905", "合同纠纷"),
            _c("2906", "生产经营纠纷"),
            _c("2907", "损害赔偿纠纷"),
            _c("2908", "征地拆迁纠纷"),
            _c("2909", "劳动争议（欠薪）纠纷", department="renshe"),
            _c("2910", "医疗纠纷"),
            _c("2911", "环境污染纠纷", department="huanbao"),
            _c("2912", "其他纠纷"),
        ],
    },
    {
        "code": "30",
        "name": "其他",
        "kind": "other",
        "children": [
            _c("3001", "意见建议"),
            _c("3002", "其他事件"),
        ],
    },
]

CATEGORY_TREE = NINE_SMALL + SERVICE + OTHERS


def iter_minors():
    """Yield ``(major, minor)`` pairs, the minor with the major's optional keys filled in."""
    for major in CATEGORY_TREE:
        inherited = {key: major[key] for key in OPTIONAL_KEYS if key in major}
        for minor in major["children"]:
            yield major, {**inherited, **minor}


# ---------------------------------------------------------------------------------------
# Holiday calendar.
#
# One row per holiday period: (name, first day off, last day off, make-up working days).
# A period "放假，与周末连休" includes the weekend it joins. Make-up working days are named
# "<name>调休上班".
# ---------------------------------------------------------------------------------------

HOLIDAY_YEARS = range(2015, 2028)
PROVISIONAL_YEARS = frozenset({2027})

_ARRANGEMENTS = [
    # 2015: http://www.gov.cn/zhengce/content/2014-12/16/content_9302.htm
    ("元旦", "2015-01-01", "2015-01-03", ["2015-01-04"]),
    ("春节", "2015-02-18", "2015-02-24", ["2015-02-15", "2015-02-28"]),
    ("清明节", "2015-04-04", "2015-04-06", []),  # 4月5日（周日）放假，4月6日补休
    ("劳动节", "2015-05-01", "2015-05-03", []),
    ("端午节", "2015-06-20", "2015-06-22", []),  # 6月20日（周六）放假，6月22日补休
    # http://www.gov.cn/zhengce/content/2015-05/13/content_9742.htm
    ("抗战胜利70周年纪念日", "2015-09-03", "2015-09-05", ["2015-09-06"]),
    ("中秋节", "2015-09-27", "2015-09-27", []),  # a Sunday, no day in lieu
    ("国庆节", "2015-10-01", "2015-10-07", ["2015-10-10"]),
    # 2016: http://www.gov.cn/zhengce/content/2015-12/10/content_10394.htm
    ("元旦", "2016-01-01", "2016-01-03", []),
    ("春节", "2016-02-07", "2016-02-13", ["2016-02-06", "2016-02-14"]),
    ("清明节", "2016-04-02", "2016-04-04", []),
    ("劳动节", "2016-04-30", "2016-05-02", []),
    ("端午节", "2016-06-09", "2016-06-11", ["2016-06-12"]),
    ("中秋节", "2016-09-15", "2016-09-17", ["2016-09-18"]),
    ("国庆节", "2016-10-01", "2016-10-07", ["2016-10-08", "2016-10-09"]),
    # 2017: http://www.gov.cn/zhengce/content/2016-12/01/content_5141603.htm
    ("元旦", "2016-12-31", "2017-01-02", []),  # 1月1日（周日）放假，1月2日补休
    ("春节", "2017-01-27", "2017-02-02", ["2017-01-22", "2017-02-04"]),
    ("清明节", "2017-04-02", "2017-04-04", ["2017-04-01"]),
    ("劳动节", "2017-04-29", "2017-05-01", []),
    ("端午节", "2017-05-28", "2017-05-30", ["2017-05-27"]),
    ("国庆节、中秋节", "2017-10-01", "2017-10-08", ["2017-09-30"]),
    # 2018: http://www.gov.cn/zhengce/content/2017-11/30/content_5243579.htm
    ("元旦", "2017-12-30", "2018-01-01", []),
    ("春节", "2018-02-15", "2018-02-21", ["2018-02-11", "2018-02-24"]),
    ("清明节", "2018-04-05", "2018-04-07", ["2018-04-08"]),
    ("劳动节", "2018-04-29", "2018-05-01", ["2018-04-28"]),
    ("端午节", "2018-06-16", "2018-06-18", []),
    ("中秋节", "2018-09-22", "2018-09-24", []),
    ("国庆节", "2018-10-01", "2018-10-07", ["2018-09-29", "2018-09-30"]),
    # 2019: http://www.gov.cn/xinwen/2018-12/06/content_5346287.htm
    ("元旦", "2018-12-30", "2019-01-01", ["2018-12-29"]),
    ("春节", "2019-02-04", "2019-02-10", ["2019-02-02", "2019-02-03"]),
    ("清明节", "2019-04-05", "2019-04-07", []),
    # Labour Day as amended: http://www.gov.cn/zhengce/content/2019-03/22/content_5375877.htm
    ("劳动节", "2019-05-01", "2019-05-04", ["2019-04-28", "2019-05-05"]),
    ("端午节", "2019-06-07", "2019-06-09", []),
    ("中秋节", "2019-09-13", "2019-09-15", []),
    ("国庆节", "2019-10-01", "2019-10-07", ["2019-09-29", "2019-10-12"]),
    # 2020: http://www.gov.cn/zhengce/content/2019-11/21/content_5454164.htm
    ("元旦", "2020-01-01", "2020-01-01", []),
    # Spring Festival extended to 2 February (COVID-19), which also cancelled the make-up
    # Saturday of 1 February: http://www.gov.cn/zhengce/content/2020-01/27/content_5472352.htm
    ("春节", "2020-01-24", "2020-02-02", ["2020-01-19"]),
    ("清明节", "2020-04-04", "2020-04-06", []),
    ("劳动节", "2020-05-01", "2020-05-05", ["2020-04-26", "2020-05-09"]),
    ("端午节", "2020-06-25", "2020-06-27", ["2020-06-28"]),
    ("国庆节、中秋节", "2020-10-01", "2020-10-08", ["2020-09-27", "2020-10-10"]),
    # 2021: http://www.gov.cn/zhengce/content/2020-11/25/content_5564127.htm
    ("元旦", "2021-01-01", "2021-01-03", []),
    ("春节", "2021-02-11", "2021-02-17", ["2021-02-07", "2021-02-20"]),
    ("清明节", "2021-04-03", "2021-04-05", []),
    ("劳动节", "2021-05-01", "2021-05-05", ["2021-04-25", "2021-05-08"]),
    ("端午节", "2021-06-12", "2021-06-14", []),
    ("中秋节", "2021-09-19", "2021-09-21", ["2021-09-18"]),
    ("国庆节", "2021-10-01", "2021-10-07", ["2021-09-26", "2021-10-09"]),
    # 2022: http://www.gov.cn/zhengce/content/2021-10/25/content_5644835.htm
    ("元旦", "2022-01-01", "2022-01-03", []),
    ("春节", "2022-01-31", "2022-02-06", ["2022-01-29", "2022-01-30"]),
    ("清明节", "2022-04-03", "2022-04-05", ["2022-04-02"]),
    ("劳动节", "2022-04-30", "2022-05-04", ["2022-04-24", "2022-05-07"]),
    ("端午节", "2022-06-03", "2022-06-05", []),
    ("中秋节", "2022-09-10", "2022-09-12", []),
    ("国庆节", "2022-10-01", "2022-10-07", ["2022-10-08", "2022-10-09"]),
    # 2023: http://www.gov.cn/zhengce/content/2022-12/08/content_5730844.htm
    ("元旦", "2022-12-31", "2023-01-02", []),
    ("春节", "2023-01-21", "2023-01-27", ["2023-01-28", "2023-01-29"]),
    ("清明节", "2023-04-05", "2023-04-05", []),
    ("劳动节", "2023-04-29", "2023-05-03", ["2023-04-23", "2023-05-06"]),
    ("端午节", "2023-06-22", "2023-06-24", ["2023-06-25"]),
    ("中秋节、国庆节", "2023-09-29", "2023-10-06", ["2023-10-07", "2023-10-08"]),
    # 2024: https://www.gov.cn/zhengce/content/202310/content_6911527.htm
    ("元旦", "2023-12-30", "2024-01-01", []),
    ("春节", "2024-02-10", "2024-02-17", ["2024-02-04", "2024-02-18"]),
    ("清明节", "2024-04-04", "2024-04-06", ["2024-04-07"]),
    ("劳动节", "2024-05-01", "2024-05-05", ["2024-04-28", "2024-05-11"]),
    ("端午节", "2024-06-08", "2024-06-10", []),
    ("中秋节", "2024-09-15", "2024-09-17", ["2024-09-14"]),
    ("国庆节", "2024-10-01", "2024-10-07", ["2024-09-29", "2024-10-12"]),
    # 2025 (first year with 13 statutory days: 除夕 and 5月2日 added):
    # https://www.gov.cn/zhengce/content/202411/content_6986382.htm
    ("元旦", "2025-01-01", "2025-01-01", []),
    ("春节", "2025-01-28", "2025-02-04", ["2025-01-26", "2025-02-08"]),
    ("清明节", "2025-04-04", "2025-04-06", []),
    ("劳动节", "2025-05-01", "2025-05-05", ["2025-04-27"]),
    ("端午节", "2025-05-31", "2025-06-02", []),
    ("国庆节、中秋节", "2025-10-01", "2025-10-08", ["2025-09-28", "2025-10-11"]),
    # 2026: https://www.gov.cn/zhengce/content/202511/content_7047090.htm (国办发明电〔2025〕7号)
    ("元旦", "2026-01-01", "2026-01-03", ["2026-01-04"]),
    ("春节", "2026-02-15", "2026-02-23", ["2026-02-14", "2026-02-28"]),
    ("清明节", "2026-04-04", "2026-04-06", []),
    ("劳动节", "2026-05-01", "2026-05-05", ["2026-05-09"]),
    ("端午节", "2026-06-19", "2026-06-21", []),
    ("中秋节", "2026-09-25", "2026-09-27", []),
    ("国庆节", "2026-10-01", "2026-10-07", ["2026-09-20", "2026-10-10"]),
    # 2027: PROVISIONAL. Not yet published when this was written; derived from the usual rules
    # (statutory days falling on a weekend are given in lieu, at most 6 working days in a
    # row, a lone midweek festival is one day off). Replace with the notice once it is out.
    ("元旦", "2027-01-01", "2027-01-03", []),  # Friday to Sunday
    ("春节", "2027-02-05", "2027-02-13", ["2027-01-31", "2027-02-14"]),  # 除夕 is Friday 5 February
    ("清明节", "2027-04-03", "2027-04-05", []),  # 清明 is Monday 5 April
    ("劳动节", "2027-05-01", "2027-05-05", ["2027-05-08"]),
    ("端午节", "2027-06-09", "2027-06-09", []),  # a Wednesday
    ("中秋节", "2027-09-15", "2027-09-15", []),  # a Wednesday
    ("国庆节", "2027-10-01", "2027-10-07", ["2027-09-26", "2027-10-09"]),
]


def _expand(arrangements) -> list[tuple[str, bool, str]]:
    days = []
    for name, first, last, workdays in arrangements:
        day, end = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
        while day <= end:
            days.append((day.isoformat(), False, name))
            day += datetime.timedelta(days=1)
        days.extend((workday, True, f"{name}调休上班") for workday in workdays)
    return sorted(days)


HOLIDAYS = _expand(_ARRANGEMENTS)


# ---------------------------------------------------------------------------------------
# Self-check.
# ---------------------------------------------------------------------------------------

CRIMINAL_STATISTICS = ("robbery", "theft", "homicide", "fraud", "drug", "criminal_other")


def check_catalogue() -> dict:
    """Assert the catalogue is consistent; return its counts."""
    departments = {code for code, _name in DEPARTMENTS}
    assert len(departments) == len(DEPARTMENTS), "duplicate department code"

    codes = []
    for major in CATEGORY_TREE:
        code = major["code"]
        assert len(code) == 2 and code.isdigit(), code
        assert major["kind"] in KINDS, code
        assert major["children"], code
        assert set(major) <= {"code", "name", "children", *OPTIONAL_KEYS}, code
        codes.append(code)
        for minor in major["children"]:
            assert set(minor) <= {"code", "name", *OPTIONAL_KEYS}, minor["code"]
            assert minor["code"].startswith(code) and len(minor["code"]) == 4 and minor["code"].isdigit(), minor["code"]
            codes.append(minor["code"])
    assert len(codes) == len(set(codes)), "duplicate category code"

    minors = list(iter_minors())
    for major, minor in [(major, major) for major in CATEGORY_TREE] + minors:
        assert minor.get("kind", major["kind"]) in KINDS, minor["code"]
        if "department" in minor:
            assert minor["department"] in departments, (minor["code"], minor["department"])
        assert len(minor.get("statistic", "")) <= 32, minor["code"]
        assert len(minor["name"]) <= 100, minor["code"]

    def majors_of(kind):
        return [major for major in CATEGORY_TREE if major["kind"] == kind]

    nine_small = [minor for major, minor in minors if major["kind"] == "nine_small"]
    service_majors = majors_of("service")
    service_minors = [minor for major, minor in minors if major["kind"] == "service"]
    assert len(nine_small) == 9, len(nine_small)
    assert len(service_majors) == 23, len(service_majors)
    assert len(service_minors) == 83, len(service_minors)
    assert all("department" in major for major in service_majors)
    statistics = {minor.get("statistic") for _major, minor in minors}
    for key in CRIMINAL_STATISTICS:
        assert key in statistics, key

    # Holidays: one row per date, make-up days on weekends, all in HOLIDAY_YEARS.
    dates = [datetime.date.fromisoformat(iso) for iso, _working, _name in HOLIDAYS]
    assert len(dates) == len(set(dates)), "a date is listed twice"
    for (iso, working, _name), date in zip(HOLIDAYS, dates, strict=True):
        assert date.year in HOLIDAY_YEARS, iso
        if working:
            assert date.weekday() >= 5, f"make-up working day {iso} is not a weekend"
    for year in HOLIDAY_YEARS:
        assert any(date.year == year and date.month == 10 for date in dates), year

    return {
        "majors": len(CATEGORY_TREE),
        "minors": len(minors),
        "nine_small_minors": len(nine_small),
        "service_majors": len(service_majors),
        "service_minors": len(service_minors),
        "departments": len(DEPARTMENTS),
        "holiday_days_off": sum(not working for _iso, working, _name in HOLIDAYS),
        "makeup_working_days": sum(working for _iso, working, _name in HOLIDAYS),
        "holiday_years": f"{HOLIDAY_YEARS.start}-{HOLIDAY_YEARS.stop - 1}",
    }
