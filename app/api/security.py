"""Who is asking: `Authorization: Bearer rdk_...` names a user; their groups are resolved
now, under the configured sign-in (rag_core.access.callers), exactly as the chat would."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.errors import ApiError
from app.api.runtime import ApiRuntime
from rag_core.access.callers import named_user
from rag_core.access.users import User
from rag_core.types import RagdeskError

_bearer = HTTPBearer(auto_error=False, description="An API key: `ragdesk users key create`.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def runtime_of(request: Request) -> ApiRuntime:
    return request.app.state.runtime


Runtime = Annotated[ApiRuntime, Depends(runtime_of)]


def caller(
    runtime: Runtime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise ApiError(
            401,
            "no API key: send `Authorization: Bearer <key>` (ragdesk users key create)",
            _CHALLENGE,
        )
    name = runtime.keys.user_of(credentials.credentials)
    if name is None:
        raise ApiError(401, "the API key is unknown or revoked", _CHALLENGE)
    try:
        user = named_user(runtime.settings, name, runtime.directory)
    except RagdeskError as exc:  # the directory is down or not set up: nobody gets in
        raise ApiError(503, f"cannot check who {name!r} is right now: {exc}") from exc
    if user is None:
        raise ApiError(401, f"the API key's user {name!r} no longer exists", _CHALLENGE)
    return user


Caller = Annotated[User, Depends(caller)]


def admin(user: Caller) -> User:
    if not user.admin:
        raise ApiError(403, "only admins may add documents")
    return user


Admin = Annotated[User, Depends(admin)]
