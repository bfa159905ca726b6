"""Helpers of the API tests: httpx clients holding real API tokens of real users, and
set-up the API itself does not offer (notifications, revoking a token), done in
committed transactions so that the live server sees it."""

from __future__ import annotations

import hashlib
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import select

from groupware.accounts.credentials import revoke
from groupware.accounts.models import Credential, User
from groupware.db import Database
from groupware.notifications.service import notify
from tests.factories import TLS, Cast, api_token

API = "/api/v1"
MAX_ID = 2**31 - 1


class Api:
    """Clients of ``/api/v1``: ``api("alice")`` acts as alice with her own token,
    ``api.anonymous`` sends no token. Tokens are made when first needed."""

    def __init__(self, base_url: str, database: Database, cast: Cast) -> None:
        self.base_url = base_url
        self.database = database
        self.cast = cast
        self.tokens: dict[str, str] = {}
        self._clients: list[httpx.Client] = []
        self._by_name: dict[str, httpx.Client] = {}
        self.anonymous = self.client()

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx.Client(base_url=self.base_url + API, headers=headers, timeout=30, verify=TLS)
        self._clients.append(client)
        return client

    def user(self, name: str) -> User:
        user = getattr(self.cast, name)
        assert isinstance(user, User)
        return user

    def token(self, name: str) -> str:
        if name not in self.tokens:
            self.tokens[name] = api_token(self.database, self.user(name))
        return self.tokens[name]

    def __call__(self, name: str) -> httpx.Client:
        if name not in self._by_name:
            self._by_name[name] = self.client(self.token(name))
        return self._by_name[name]

    def as_user_id(self, user_id: int) -> httpx.Client:
        """A client for a user the cast does not have (made during the test)."""
        return self.client(token_for(self.database, user_id))

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def token_for(database: Database, user_id: int) -> str:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        user = session.get(User, user_id)
        assert user is not None
    return api_token(database, user)


def credential_of(database: Database, token: str) -> Credential:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.scalar(select(Credential).where(Credential.secret_hash == digest))
        assert row is not None
        return row


def revoke_token(database: Database, token: str) -> None:
    row = credential_of(database, token)
    with database.transaction(actor_id=row.user_id, channel="cli") as session:
        revoke(session, row.user_id, row.id)


def notify_user(database: Database, user: User, title: str, **extra: Any) -> int:
    """Post a notification to ``user`` as a job would, committed; returns its id."""
    with database.transaction(actor_id=None, channel="cli") as session:
        recipient = session.get(User, user.id)
        assert recipient is not None
        row = notify(session, recipient, title=title, **extra)
        assert row is not None
        return row.id


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The ``error`` object of a JSON error answer with ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert error["status"] == status
    assert error["message"]
    return dict(error)


def fields_of(response: httpx.Response, status: int = 422) -> dict[str, str]:
    """The per-field messages of an error answer."""
    return dict(error_of(response, status)["fields"])


def walk(client: httpx.Client, path: str, limit: int, **params: Any) -> list[list[Any]]:
    """Every page of a list, following ``next_cursor``; returns the pages."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not move on"
