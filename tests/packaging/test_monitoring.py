"""What IT loads into Prometheus and Grafana (packaging/monitoring/) reads metrics the server
really exposes: every ``badge_*`` name in the alert rules and the dashboard is in a scrape of a
real server that has answered some sign-ins."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from badge_server.settings import Settings
from tests.support.api import exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer

MONITORING = Path(__file__).parents[2] / "packaging" / "monitoring"
TOKEN = "monitoring-test-token-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})


def expressions() -> dict[str, str]:
    rules = yaml.safe_load((MONITORING / "badge-server-alerts.yml").read_text())
    found = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found[f"{panel['title']} ({target['refId']})"] = target["expr"]
    return found


def test_every_metric_the_alerts_and_dashboard_use_is_one_the_server_exposes(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    assert exchange(http, district.device_token, district.payloads["st-0001"]).status_code == 200
    scraped = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    families = {family.name for family in text_string_to_metric_families(scraped)}
    samples = {sample.name for family in text_string_to_metric_families(scraped) for sample in family.samples}
    used = {where: set(re.findall(r"\bbadge_\w+", expr)) for where, expr in expressions().items() if "badge_" in expr}
    assert len(used) >= 10
    # A labelled metric nothing has counted yet has no samples, only its family's HELP and TYPE.
    base = {name: re.sub(r"_(total|bucket|count|sum)$", "", name) for names in used.values() for name in names}
    unknown = {
        where: missing
        for where, names in used.items()
        if (missing := {name for name in names if name not in samples and base[name] not in families})
    }
    assert unknown == {}, f"not exposed by the server: {unknown}"
    rules = yaml.safe_load((MONITORING / "badge-server-alerts.yml").read_text())["groups"][0]["rules"]
    assert all(rule["annotations"]["summary"] and rule["labels"]["severity"] for rule in rules)
