"""LIVE_REDIS_URL forms (one server, Sentinels, a Cluster: live/backends/redis/connect.py), and
the settings of waiting for replicas and of forgetting buyers' details."""

from __future__ import annotations

import pytest

from live.backends import open_backend
from live.backends.redis.connect import parse, tagged_prefix
from live.config import settings_from_env


def test_a_sentinel_url_names_its_sentinels_service_and_database() -> None:
    target = parse("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster?db=2")
    assert target.mode == "sentinel"
    assert target.nodes == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert (target.service, target.db, target.password) == ("mymaster", 2, "s3cret")


def test_a_cluster_url_names_its_seed_nodes() -> None:
    target = parse("redis+cluster://h1:7000,h2:7001")
    assert target.cluster
    assert target.nodes == (("h1", 7000), ("h2", 7001))


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h1:26379",  # no service
        "redis+sentinel://h1/mymaster",  # no port
        "redis+cluster://h1:7000/3",  # a cluster has one database
        "redis+cluster://",
        "memcached://h1:11211",
    ],
)
def test_a_malformed_url_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ValueError):
        parse(url)


def test_open_backend_takes_the_new_forms_without_connecting() -> None:
    for url in ("redis+sentinel://127.0.0.1:1/m", "redis+cluster://127.0.0.1:1"):
        assert open_backend(url).kind == "redis"


def test_a_cluster_prefix_is_one_hash_tag() -> None:
    assert tagged_prefix("coop1") == "{coop1}"
    assert tagged_prefix("live:{coop1}") == "live:{coop1}"


def test_the_settings_of_waiting_for_replicas_and_forgetting() -> None:
    defaults = settings_from_env({})
    assert (defaults.redis_wait_replicas, defaults.redis_wait_ms) == (0, 500)
    assert defaults.forget_after_days == 90
    env = {
        "LIVE_REDIS_WAIT_REPLICAS": "1",
        "LIVE_REDIS_WAIT_MS": "250",
        "LIVE_FORGET_AFTER_DAYS": "0",
    }
    chosen = settings_from_env(env)
    assert (chosen.redis_wait_replicas, chosen.redis_wait_ms, chosen.forget_after_days) == (
        1,
        250,
        0,
    )
    with pytest.raises(SystemExit, match="LIVE_FORGET_AFTER_DAYS"):
        settings_from_env({"LIVE_FORGET_AFTER_DAYS": "-1"})
