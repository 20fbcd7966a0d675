"""deploy/docker-compose.postgres.yml over deploy/docker-compose.yml, read as Compose
merges them (no Docker here): two Parley processes on one PostgreSQL 15, both behind
Caddy, which checks each at /healthz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _merged() -> dict[str, Any]:
    """The services of both files, as Compose merges an override: mappings key by key."""
    base = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    extra = yaml.safe_load((DEPLOY / "docker-compose.postgres.yml").read_text(encoding="utf-8"))

    def merge(one: Any, other: Any) -> Any:
        if not (isinstance(one, dict) and isinstance(other, dict)):
            return other
        both = dict(one)
        for key, value in other.items():
            both[key] = merge(one[key], value) if key in one else value
        return both

    services: dict[str, Any] = merge(base["services"], extra["services"])
    return services


def test_two_parleys_share_one_postgresql_behind_caddy() -> None:
    services = _merged()
    parleys = [name for name, service in services.items() if service.get("image") == "parley"]
    assert sorted(parleys) == ["parley", "parley-2"]
    for name in parleys:
        service = services[name]
        environment = service["environment"]
        assert environment["PARLEY_DATABASE"] == "postgresql://parley@postgres:5432/parley"
        assert environment["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
        assert environment["PARLEY_PORT"] == "8080"
        assert (
            environment["PARLEY_PUBLIC_URL"]
            == services["parley"]["environment"]["PARLEY_PUBLIC_URL"]
        )  # one public URL: Twilio's signatures are checked against it by both
        assert service["env_file"] == "parley.env"
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    upstreams = services["caddy"]["environment"]["PARLEY_UPSTREAMS"].split()
    assert upstreams == [f"{name}:8080" for name in sorted(parleys)]
    assert set(parleys) <= set(services["caddy"]["depends_on"])


def test_caddy_sends_to_every_upstream_it_is_given_and_checks_each() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    proxies = caddyfile.count("reverse_proxy {$PARLEY_UPSTREAMS:parley:8080}")
    assert proxies >= 2  # the residents' webhooks and the staff web
    assert caddyfile.count("health_uri /healthz") == proxies
