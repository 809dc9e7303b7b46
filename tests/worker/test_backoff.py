"""The wait between delivery attempts: doubling from the first backoff, capped, with jitter below the cap,
for any attempt number (attempt 20 or 45 used to wait for months or overflow)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.settings import Settings
from engine import RetryPolicy

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 100),
    backoff_seconds=st.floats(0, 86_400),
    max_backoff_seconds=st.floats(0, 7 * 86_400),
    jitter=st.floats(0, 1),
)


@given(policy=policies, attempts=st.integers(-5, 10**6), draw=st.floats(0, 1, exclude_max=True))
def test_backoff_never_exceeds_the_cap_and_jitter_only_shortens_it(
    policy: RetryPolicy, attempts: int, draw: float
) -> None:
    wait = policy.delay(attempts, draw=lambda: draw)
    unjittered = policy.delay(attempts, draw=lambda: 0.0)

    assert timedelta(0) <= wait <= unjittered <= timedelta(seconds=policy.max_backoff_seconds)
    assert wait.total_seconds() >= unjittered.total_seconds() * (1 - policy.jitter) - 1e-6


@given(policy=policies, attempts=st.integers(1, 200))
def test_backoff_does_not_shrink_from_one_attempt_to_the_next(policy: RetryPolicy, attempts: int) -> None:
    def no_jitter(n: int) -> timedelta:
        return policy.delay(n, draw=lambda: 0.0)

    assert no_jitter(attempts) <= no_jitter(attempts + 1)


def test_backoff_doubles_until_the_default_hour_cap() -> None:
    policy = RetryPolicy(backoff_seconds=30, jitter=0)

    waits = [policy.delay(n) for n in (1, 2, 3, 7, 8, 20, 45, 10_000)]

    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 1920, 3600, 3600, 3600, 3600)]


def test_default_jitter_spreads_retries_below_the_cap() -> None:
    policy = Settings(_env_file=None).delivery_config().retry

    waits = {policy.delay(45).total_seconds() for _ in range(50)}

    assert policy.max_backoff_seconds == 3600
    assert len(waits) > 1
    assert all(3600 * 0.8 <= w <= 3600 for w in waits)


def test_backoff_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCHGATE_DELIVERY_BACKOFF_MAX_SECONDS", "600")
    monkeypatch.setenv("LAUNCHGATE_DELIVERY_BACKOFF_JITTER", "0")

    policy = Settings(_env_file=None).delivery_config().retry

    assert policy.delay(45) == timedelta(seconds=600)


def test_a_jitter_above_one_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCHGATE_DELIVERY_BACKOFF_JITTER", "1.5")

    with pytest.raises(ValueError, match="delivery_backoff_jitter"):
        Settings(_env_file=None)
