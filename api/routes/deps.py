"""Typed FastAPI dependencies: one per policy used by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.security import PUBLIC, SIGNED_IN, Caller, allow, roles
from engine import Role

PublicDep = Annotated[None, Depends(allow(PUBLIC))]
SignedInDep = Annotated[Caller, Depends(allow(SIGNED_IN))]
PmDep = Annotated[Caller, Depends(allow(roles(Role.PM)))]
WorkerDep = Annotated[Caller, Depends(allow(roles(Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER)))]
AuditorDep = Annotated[Caller, Depends(allow(roles(Role.AUDITOR, Role.ADMIN)))]
AdminDep = Annotated[Caller, Depends(allow(roles(Role.ADMIN)))]
