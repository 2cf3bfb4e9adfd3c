import pytest

from tests.factories import force_verified

pytestmark = pytest.mark.django_db

GARBAGE = ["x" * 5000, "\x00", "２０１６", "-1", "99999999999999999999", "1' OR '1'='1", "2016-13", "٢٠١٦", "2016Q5", "2016\n", " ", "𠀀"]


def test_probe(client, figures, viewers):
    force_verified(client, viewers.city_leader)
    out = []
    for g in GARBAGE:
        for url, key in [
            ("/dashboard/", "node"), ("/dashboard/", "period"), ("/dashboard/", "metric"), ("/dashboard/", "q"),
            ("/dashboard/nodes/", "q"),
            ("/dashboard/export/", "node"), ("/dashboard/export/", "period"),
            ("/dashboard/report/", "node"), ("/dashboard/report/", "period"),
            ("/dashboard/assessments/", "node"), ("/dashboard/assessments/", "year"), ("/dashboard/assessments/", "state"), ("/dashboard/assessments/", "page"),
            ("/api/stats/", "node"), ("/api/stats/", "period"), ("/api/stats/", "metrics"),
            ("/api/stats/children/", "metrics"), ("/api/stats/trend/", "months"),
        ]:
            try:
                r = client.get(url, {key: g})
                status = r.status_code
            except Exception as e:
                status = f"EXC {type(e).__name__}: {str(e)[:100]}"
            out.append((url, key, repr(g)[:20], status))
        for path in [f"/dashboard/assessments/{g}/2016/", f"/dashboard/assessments/522601001001/{g}/"]:
            try:
                status = client.get(path).status_code
            except Exception as e:
                status = f"EXC {type(e).__name__}: {str(e)[:100]}"
            out.append((path[:60], "", "", status))
    with open("/tmp/review/probe.txt", "w") as fh:
        for row in out:
            fh.write(f"{row}\n")
