"""stations.people: any password round-trips and any other fails; limits hold under a burst on both stores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stations.errors import InvalidValue, RateLimited, SignInRefused
from stations.people import People, check_name, name_key, session_digest
from stations.store import Store
from tests.hostile import MARKUP, TEMPLATES

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
passwords = st.text(min_size=8, max_size=64)


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('people') / 'people.sqlite3'}")
    yield People(store, "test-secret", per_account=10_000, per_client=10_000, hasher=FAST_HASHER)
    store.engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=passwords, other=passwords, number=st.integers(0, 10**12))
def test_any_password_signs_in_and_any_other_does_not(people: People, password: str, other: str, number: int) -> None:
    name = f"p{number}-{len(people.list())}"
    people.create(name, "editor", password)
    signed_in = people.sign_in(name, password, "10.1.1.1")
    live = people.session(signed_in.secret)
    assert live is not None and live.person.name == name and live.csrf_token == signed_in.session.csrf_token
    if other != password:
        with pytest.raises(SignInRefused) as refused:
            people.sign_in(name, other, "10.1.1.1")
        assert not refused.value.disabled


@settings(max_examples=50, deadline=None)
@given(name=st.text(min_size=1, max_size=100))
def test_a_name_is_accepted_as_itself_or_refused_with_a_reason(name: str) -> None:
    try:
        tidy = check_name(name)
    except InvalidValue as refused:
        assert refused.field == "name" and refused.reason
        return
    assert tidy == tidy.strip() and 1 <= len(tidy) <= 100
    assert name_key(tidy) == name_key(name)


def test_hostile_text_is_a_name_like_any_other() -> None:
    for text in TEMPLATES + MARKUP:
        assert check_name(f" {text} ") == text


def test_names_are_one_per_key(people: People) -> None:
    people.create("Wang Li", "viewer", "password 1")
    with pytest.raises(InvalidValue):
        people.create("ＷＡＮＧ li", "editor", "password 2")
    assert people.sign_in("wang LI", "password 1", "10.1.1.2").session.person.name == "Wang Li"


def test_only_the_digest_of_a_session_is_stored(people: People) -> None:
    people.create("digest-check", "viewer", "password 1")
    secret = people.sign_in("digest-check", "password 1", "10.1.1.3").secret
    with people.store.engine.connect() as connection:
        stored = [row[0] for row in connection.exec_driver_sql("SELECT id_sha256 FROM console_sessions")]
    assert secret not in stored and session_digest(secret) in stored


def test_a_refused_password_is_never_echoed(people: People) -> None:
    for password in ("short", "x" * 1025):
        with pytest.raises(InvalidValue) as refused:
            people.create("echo-check", "viewer", password)
        assert password not in str(refused.value)


def test_a_burst_of_wrong_passwords_gets_no_more_tries_than_the_limit(database_url: str) -> None:
    store = Store(database_url)  # SQLite and PostgreSQL (conftest's database_url)
    moment = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    people = People(store, "s", per_account=3, per_client=100, hasher=FAST_HASHER, clock=lambda: moment)
    people.create("target", "editor", "the password")
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(number: int) -> None:
        try:
            people.sign_in("target", "wrong password", f"10.2.0.{number}")
            result = "signed in"
        except SignInRefused:
            result = "refused"
        except RateLimited:
            result = "limited"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.engine.dispose()
    assert sorted(outcomes) == ["limited"] * 7 + ["refused"] * 3


def test_expiry_idle_and_absolute(people: People) -> None:
    now = [datetime(2026, 12, 4, 8, 0, tzinfo=UTC)]
    timed = People(people.store, "test-secret", idle=timedelta(minutes=30), absolute=timedelta(hours=2),
                   hasher=FAST_HASHER, clock=lambda: now[0])  # fmt: skip
    timed.create("timed", "viewer", "password 1")
    secret = timed.sign_in("timed", "password 1", "10.1.1.4").secret
    for _ in range(3):
        now[0] += timedelta(minutes=29, seconds=59)
        assert timed.session(secret) is not None
    now[0] += timedelta(minutes=30)
    assert timed.session(secret) is None  # 2 h after sign-in (and gone for good)
    secret = timed.sign_in("timed", "password 1", "10.1.1.4").secret
    now[0] += timedelta(minutes=30)
    assert timed.session(secret) is None  # idle
