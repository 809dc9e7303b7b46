"""User administration (admins): create, list, set roles, disable, reset password."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.authorization import in_threadpool
from api.openapi import CONFLICT_RESPONSE
from api.pagination import PagingDep, page_of
from api.routes.deps import AdminDep
from api.schemas import PasswordReset, RowId, UserCreate, UserPageRead, UserRead, UserUpdate
from api.security import AccountsDep

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=UserPageRead, summary="All users")
@in_threadpool
def list_users(caller: AdminDep, accounts: AccountsDep, paging: PagingDep) -> UserPageRead:
    return UserPageRead.model_validate(page_of(accounts.list_users(actor=caller.actor), paging))


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user",
    responses=CONFLICT_RESPONSE,
)
@in_threadpool
def create_user(body: UserCreate, caller: AdminDep, accounts: AccountsDep) -> UserRead:
    return UserRead.model_validate(
        accounts.create_user(
            username=body.username,
            password=body.password,
            roles=body.roles,
            display_name=body.display_name,
            email=body.email,
            actor=caller.actor,
        )
    )


@router.get("/{user_id}", response_model=UserRead, summary="One user")
@in_threadpool
def get_user(user_id: RowId, caller: AdminDep, accounts: AccountsDep) -> UserRead:
    return UserRead.model_validate(accounts.get_user(user_id=user_id, actor=caller.actor))


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    summary="Set roles and/or enable or disable a user",
    responses=CONFLICT_RESPONSE,
)
@in_threadpool
def update_user(user_id: RowId, body: UserUpdate, caller: AdminDep, accounts: AccountsDep) -> UserRead:
    view = accounts.get_user(user_id=user_id, actor=caller.actor)
    if body.roles is not None:
        view = accounts.set_roles(user_id=user_id, roles=body.roles, actor=caller.actor)
    if body.active is not None:
        view = accounts.set_active(user_id=user_id, active=body.active, actor=caller.actor)
    return UserRead.model_validate(view)


@router.post(
    "/{user_id}/password", response_model=UserRead, summary="Reset a user's password (revokes sessions)"
)
@in_threadpool
def reset_password(user_id: RowId, body: PasswordReset, caller: AdminDep, accounts: AccountsDep) -> UserRead:
    return UserRead.model_validate(
        accounts.reset_password(user_id=user_id, password=body.password, actor=caller.actor)
    )
