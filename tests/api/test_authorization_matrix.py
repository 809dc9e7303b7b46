"""The authorization matrix: every route of the app (JSON API and pages), for every role, on an object of
one's own and on someone else's, against a table of expected statuses written down below.

- Every route must declare a policy (a dependency whose callable carries `.policy`, see api.authorization).
- Every route must have a row in EXPECTED, and every row must name a route: a new route fails this file
  until someone decides, in writing, who may call it.
- Every cell is sent for real with a minimal valid request; no cell may answer 5xx.
- G7: every refusal (403) and every conflict (409) leaves exactly one audit row naming the caller; an
  anonymous request (401, or a redirect to the sign-in page) leaves none.

"Own" and "foreign": launches and their tasks are pat.pm's (the demo PM) or olga.pm's (another PM);
each launch is prepared with its PM task (open_beta, assigned to its PM) and a support task
(draft_report_template, claimed by sam.support) ready, and a pending outbox message. Users and API tokens
are the caller's own or olga's (an anonymous caller's "own" ones are pat's). Routes that name no object
are called once per role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.demo import DEMO_SUPPORT, demo_forms
from api.settings import Settings
from api.web.auth import PRESESSION_COOKIE
from engine import AccountService, Actor, AuditEventView, Role, WorkflowEngine
from engine.db.models import AuditEventRecord, OutboxMessageRecord
from tests.api.conftest import OTHER_PM, PASSWORDS, ROOT, USER_OF_ROLE, SignIn, app_routes

ROLES = ("anonymous", "pm", "support_lead", "support_manager", "auditor", "admin")
Status = int | tuple[int, int]  # one status for own and foreign objects alike, or (own, foreign)


class Row(NamedTuple):
    """Expected status per role (columns in ROLES order)."""

    anonymous: Status
    pm: Status
    support_lead: Status
    support_manager: Status
    auditor: Status
    admin: Status

    def status(self, role: str, whose: str) -> int:
        value: Status = getattr(self, role)
        if isinstance(value, tuple):
            return value[0] if whose == "own" else value[1]
        return value


class ByTask(NamedTuple):
    """For task commands: expectations on the launch's PM task and on its (claimed) support task."""

    pm_task: Row
    support_task: Row


# fmt: off
# Columns: anonymous, pm, support_lead, support_manager, auditor, admin (ROLES).
# A pair is (own object, someone else's object).
EXPECTED: dict[tuple[str, str], Row | ByTask] = {
    # ---- public: health, API docs, sign-in
    ("GET", "/healthz"):                                Row(200, 200, 200, 200, 200, 200),
    ("GET", "/readyz"):                                 Row(200, 200, 200, 200, 200, 200),
    ("GET", "/docs"):                                   Row(200, 200, 200, 200, 200, 200),
    ("GET", "/redoc"):                                  Row(200, 200, 200, 200, 200, 200),
    ("GET", "/metrics"):                                Row(404, 404, 404, 404, 404, 404),  # loopback, token
    ("POST", "/api/v1/auth/sign-in"):                   Row(200, 200, 200, 200, 200, 200),
    # ---- one's own session and API tokens: anyone signed in; someone else's token does not exist for you
    ("POST", "/api/v1/auth/sign-out"):                  Row(401, 204, 204, 204, 204, 204),
    ("GET", "/api/v1/auth/me"):                         Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/auth/tokens"):                     Row(401, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/auth/tokens"):                    Row(401, 201, 201, 201, 201, 201),
    ("DELETE", "/api/v1/auth/tokens/{token_id}"):       Row(401, *[(200, 404)] * 5),
    # ---- launches: everyone signed in reads every launch; PMs start; workers comment (also on others')
    ("POST", "/api/v1/launches"):                       Row(401, 201, 403, 403, 403, 403),
    ("GET", "/api/v1/launches"):                        Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/launches/{launch_id}"):            Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/launches/{launch_id}/blockers"):   Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/launches/{launch_id}/history"):    Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/launches/{launch_id}/comments"):   Row(401, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/launches/{launch_id}/comments"):  Row(401, 201, 201, 201, 403, 403),
    ("GET", "/api/v1/launches/{launch_id}/incidents"):  Row(401, 200, 200, 200, 200, 200),
    # messages: PMs and admins (their API tokens); nothing in the matrix launch waits for one (409)
    ("POST", "/api/v1/launches/{launch_id}/messages/{name}"): Row(401, 409, 403, 403, 403, 409),
    ("POST", "/api/v1/signals/{name}"):                  Row(401, 403, 403, 403, 403, 200),
    # ---- outbox: admins deliver a message again (here: the pending review outcome of the launch)
    ("POST", "/api/v1/outbox/{message_id}/retry"):      Row(401, 403, 403, 403, 403, 200),
    # ---- tasks: reads for everyone signed in; work by role, assignee and launch PM
    ("GET", "/api/v1/tasks/inbox"):                     Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/tasks"):                           Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/tasks/{task_id}"):                 Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/tasks/{task_id}/comments"):        Row(401, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/tasks/{task_id}/comments"):       Row(401, 201, 201, 201, 403, 403),
    ("POST", "/api/v1/tasks/{task_id}/complete"): ByTask(
        pm_task=                                        Row(401, (200, 403), 403, 403, 403, 403),
        support_task=                                   Row(401, 403, 200, 403, 403, 403),
    ),
    # Claiming a task someone else holds is a conflict (409), whoever asks.
    ("POST", "/api/v1/tasks/{task_id}/claim"): ByTask(
        pm_task=                                        Row(401, (200, 409), 409, 409, 403, 403),
        support_task=                                   Row(401, 409, 200, 409, 403, 403),
    ),
    ("POST", "/api/v1/tasks/{task_id}/release"): ByTask(
        pm_task=                                        Row(401, (200, 403), 403, 403, 403, 403),
        support_task=                                   Row(401, 403, 200, 200, 403, 403),
    ),
    ("POST", "/api/v1/tasks/{task_id}/assign"): ByTask(
        pm_task=                                        Row(401, (200, 403), 403, 403, 403, 403),
        support_task=                                   Row(401, 403, 403, 200, 403, 403),
    ),
    # ---- audit: auditors and admins only
    ("GET", "/api/v1/audit/events"):                    Row(401, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/audit/export.csv"):                Row(401, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/audit/export.jsonl"):              Row(401, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/audit/verify"):                    Row(401, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/audit/bundle"):                    Row(401, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/audit/launches/{launch_id}/bundle"): Row(401, 403, 403, 403, 200, 200),
    # ---- process versions: everyone reads, admins deploy
    ("GET", "/api/v1/processes"):                       Row(401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/processes/latest"):                Row(401, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/processes"):                      Row(401, 403, 403, 403, 403, 201),
    # ---- users: admins only, also for one's own account
    ("GET", "/api/v1/users"):                           Row(401, 403, 403, 403, 403, 200),
    ("POST", "/api/v1/users"):                          Row(401, 403, 403, 403, 403, 201),
    ("GET", "/api/v1/users/{user_id}"):                 Row(401, 403, 403, 403, 403, 200),
    ("PATCH", "/api/v1/users/{user_id}"):               Row(401, 403, 403, 403, 403, 200),
    ("POST", "/api/v1/users/{user_id}/password"):       Row(401, 403, 403, 403, 403, 200),
    # ---- pages: anonymous visitors are sent to the sign-in page (303); POSTs carry the form's CSRF token
    ("GET", "/sign-in"):                                Row(200, 303, 303, 303, 303, 303),
    ("POST", "/sign-in"):                               Row(303, 303, 303, 303, 303, 303),
    ("POST", "/sign-out"):                              Row(303, 303, 303, 303, 303, 303),
    ("GET", "/"):                                       Row(303, 303, 303, 303, 303, 303),
    ("GET", "/launches"):                               Row(303, 200, 200, 200, 200, 200),
    ("GET", "/launches/new"):                           Row(303, 200, 403, 403, 403, 403),
    ("POST", "/launches/new"):                          Row(303, 303, 403, 403, 403, 403),
    ("GET", "/launches/{launch_id}"):                   Row(303, 200, 200, 200, 200, 200),
    ("GET", "/launches/{launch_id}/diagram.bpmn"):      Row(303, 200, 200, 200, 200, 200),
    ("POST", "/launches/{launch_id}/comments"):         Row(303, 303, 303, 303, 403, 403),
    ("POST", "/launches/{launch_id}/incidents/{message_id}/retry"): Row(303, 403, 403, 403, 403, 303),
    ("GET", "/inbox"):                                  Row(303, 200, 200, 200, 200, 200),
    ("GET", "/tasks/{task_id}"):                        Row(303, 200, 200, 200, 200, 200),
    ("POST", "/tasks/{task_id}"): ByTask(  # "save draft": the same rule as completing
        pm_task=                                        Row(303, (303, 403), 403, 403, 403, 403),
        support_task=                                   Row(303, 403, 303, 403, 403, 403),
    ),
    ("POST", "/tasks/{task_id}/claim"): ByTask(
        pm_task=                                        Row(303, (303, 409), 409, 409, 403, 403),
        support_task=                                   Row(303, 409, 303, 409, 403, 403),
    ),
    ("POST", "/tasks/{task_id}/release"): ByTask(
        pm_task=                                        Row(303, (303, 403), 403, 403, 403, 403),
        support_task=                                   Row(303, 403, 303, 303, 403, 403),
    ),
    ("POST", "/tasks/{task_id}/assign"): ByTask(
        pm_task=                                        Row(303, (303, 403), 403, 403, 403, 403),
        support_task=                                   Row(303, 403, 403, 303, 403, 403),
    ),
    ("GET", "/audit"):                                  Row(303, 403, 403, 403, 200, 200),
    ("GET", "/audit/verify"):                           Row(303, 403, 403, 403, 200, 200),
    ("GET", "/admin/users"):                            Row(303, 403, 403, 403, 403, 200),
    ("POST", "/admin/users"):                           Row(303, 403, 403, 403, 403, 303),
    ("POST", "/admin/users/{user_id}"):                 Row(303, 403, 403, 403, 403, 303),
    ("GET", "/admin/processes"):                        Row(303, 403, 403, 403, 403, 200),
    ("POST", "/admin/processes"):                       Row(303, 403, 403, 403, 403, 303),
    ("GET", "/account/tokens"):                         Row(303, 200, 200, 200, 200, 200),
    ("POST", "/account/tokens"):                        Row(303, 201, 201, 201, 201, 201),
    ("POST", "/account/tokens/{token_id}/revoke"):      Row(303, *[(303, 404)] * 5),
}
# fmt: on

# Routes served by FastAPI or Starlette themselves, not by our handlers: no policy, nothing to protect.
FRAMEWORK_ROUTES = frozenset({"/openapi.json", "/docs/oauth2-redirect"})
STATIC_PREFIX = "/static/"
# A success here completes the task it names: the next cell gets a freshly prepared launch.
COMPLETES_TASK = frozenset({("POST", "/api/v1/tasks/{task_id}/complete")})
# A success here gives the task back to the queue: it is handed back to its holder for the next cell.
RELEASES_TASK = frozenset({("POST", "/api/v1/tasks/{task_id}/release"), ("POST", "/tasks/{task_id}/release")})
# A success here ends the caller's session (sign-out, or a password reset of one's own account).
ENDS_SESSION = frozenset(
    {
        ("POST", "/api/v1/auth/sign-out"),
        ("POST", "/api/v1/users/{user_id}/password"),
        ("POST", "/sign-out"),
    }
)
PLANNED = (datetime.now(UTC) + timedelta(days=60)).date()
START = {"product_name": "Matrix", "summary": "Who may do what.", "planned_launch_date": PLANNED.isoformat()}
FORMS = demo_forms(PLANNED)
BPMN = (ROOT / "bpmn" / "launch_gate.bpmn").read_bytes()


# ------------------------------------------------------------------------------------------- the routes


def _bare_app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))


def test_every_route_declares_policy(tmp_path: Path) -> None:
    api_routes, others = app_routes(_bare_app(tmp_path))
    assert len(api_routes) >= len(EXPECTED) // 2, "the route walk found too few routes"
    missing = [f"{r.method} {r.path}" for r in api_routes if not r.policies]
    assert not missing, f"routes without a policy (add Depends(allow(...)) or page(...)): {missing}"
    unexpected = [p for p in others if p not in FRAMEWORK_ROUTES and not p.startswith(STATIC_PREFIX)]
    assert not unexpected, f"routes that are not APIRoutes, so no policy can guard them: {unexpected}"


def test_route_walk_reports_route_when_it_has_no_policy(tmp_path: Path) -> None:
    app = _bare_app(tmp_path)
    router = APIRouter(prefix="/api/v1/extra")
    router.add_api_route("/unguarded", lambda: {"ok": True}, methods=["GET"])
    app.include_router(router)
    app.add_api_route("/also-unguarded", lambda: {"ok": True}, methods=["POST"])
    api_routes, _ = app_routes(app)
    unguarded = {(r.method, r.path) for r in api_routes if not r.policies}
    assert unguarded == {("GET", "/api/v1/extra/unguarded"), ("POST", "/also-unguarded")}


def test_every_route_has_expected_row_and_every_row_a_route(tmp_path: Path) -> None:
    api_routes, _ = app_routes(_bare_app(tmp_path))
    served = {(r.method, r.path) for r in api_routes if r.method != "HEAD"}
    assert not served - EXPECTED.keys(), (
        f"routes with no row in EXPECTED (decide who may call them): {sorted(served - EXPECTED.keys())}"
    )
    stale = sorted(EXPECTED.keys() - served)
    assert not stale, f"rows for routes that do not exist: {stale}"
    for (method, path), expectation in EXPECTED.items():
        rows = expectation if isinstance(expectation, ByTask) else (expectation,)
        assert "{task_id}" in path or not isinstance(expectation, ByTask), f"{method} {path}: no task"
        for row in rows:
            pairs = [v for v in row if isinstance(v, tuple)]
            assert not pairs or "{" in path, f"{method} {path} names no object, so own/foreign cannot differ"


# ------------------------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Cell:
    role: str
    whose: str  # "own" or "foreign"
    target: str  # "pm task" or "support task" (for task routes)

    @property
    def username(self) -> str:
        """The caller; an anonymous caller's "own" objects are pat.pm's."""
        return USER_OF_ROLE[Role.PM] if self.role == "anonymous" else USER_OF_ROLE[Role(self.role)]

    @property
    def owner(self) -> str:
        """Whose user account / API token the cell's path names."""
        return self.username if self.whose == "own" else OTHER_PM


@dataclass
class World:
    """Everything the cells point at, renewed when a cell used it up."""

    app: FastAPI
    sign_in: SignIn
    anonymous: TestClient
    clients: dict[str, TestClient] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)
    launches: dict[str, dict[str, str]] = field(default_factory=dict)  # whose -> name -> id
    created: int = 0

    @property
    def engine(self) -> WorkflowEngine:
        engine: WorkflowEngine = self.app.state.engine
        return engine

    @property
    def accounts(self) -> AccountService:
        accounts: AccountService = self.app.state.accounts
        return accounts

    def build(self) -> World:
        self.clients["anonymous"] = self.anonymous
        for role in ROLES[1:]:
            self.sign_back_in(role)
        for username in [*USER_OF_ROLE.values(), OTHER_PM]:
            user = self.accounts.find_user(username)
            assert user is not None
            self.user_ids[username] = user.id
            token, _ = self.accounts.create_token(actor=user.actor(), name="matrix")
            self.token_ids[username] = token.id
        self.prepare("own")
        self.prepare("foreign")
        return self

    def sign_back_in(self, role: str) -> None:
        self.clients[role] = self.sign_in(USER_OF_ROLE[Role(role)], follow_redirects=False)

    def prepare(self, whose: str) -> None:
        """A launch of pat.pm (own) or olga.pm (foreign) with open_beta (PM task, assigned to its PM) and
        draft_report_template (support task, claimed by sam.support) ready."""
        pm = Actor(USER_OF_ROLE[Role.PM] if whose == "own" else OTHER_PM, frozenset({Role.PM}))
        launch = self.engine.start_launch(data=START, actor=pm)
        for bpmn_id, actor in (("draft_proposal", pm), ("review_proposal", DEMO_SUPPORT)):
            task = next(t for t in launch.open_tasks if t.bpmn_id == bpmn_id)
            launch = self.engine.complete_task(task_id=task.id, data=FORMS[bpmn_id], actor=actor)
        ready = {t.bpmn_id: t.id for t in launch.open_tasks}
        self.engine.claim_task(task_id=ready["draft_report_template"], actor=DEMO_SUPPORT)
        with self.engine.db.read() as session:
            message = session.execute(
                select(OutboxMessageRecord.id)
                .where(OutboxMessageRecord.launch_id == launch.id)
                .order_by(OutboxMessageRecord.id)
                .limit(1)
            ).scalar_one()  # e.g. the review outcome sent to the proposal's author
        self.launches[whose] = {
            "launch": launch.id,
            "pm task": ready["open_beta"],
            "support task": ready["draft_report_template"],
            "message": str(message),
        }

    def give_back(self, cell: Cell) -> None:
        """The released task goes back to its holder: the launch's PM, or sam.support."""
        pm = Actor(USER_OF_ROLE[Role.PM] if cell.whose == "own" else OTHER_PM, frozenset({Role.PM}))
        holder = pm if cell.target == "pm task" else DEMO_SUPPORT
        self.engine.claim_task(task_id=self.launches[cell.whose][cell.target], actor=holder)

    def url(self, path: str, cell: Cell) -> str:
        values = {
            "launch_id": self.launches[cell.whose]["launch"],
            "task_id": self.launches[cell.whose][cell.target],
            "user_id": str(self.user_ids[cell.owner]),
            "token_id": str(self.token_ids[cell.owner]),
            "message_id": self.launches[cell.whose]["message"],
            "name": "beta_ended",
        }
        return path.format(**values)

    def csrf(self, cell: Cell) -> str:
        return str(self.clients[cell.role].headers.get("X-CSRF-Token", ""))

    def sign_in_token(self, cell: Cell) -> str:
        """The sign-in form's pre-session token (login CSRF), as GET /sign-in gives it to this client."""
        client = self.clients[cell.role]
        client.get("/sign-in", follow_redirects=False)
        return str(client.cookies.get(PRESESSION_COOKIE, ""))

    def task_bpmn_id(self, cell: Cell) -> str:
        return "open_beta" if cell.target == "pm task" else "draft_report_template"

    def send(self, method: str, path: str, cell: Cell) -> httpx.Response:
        client = self.clients[cell.role]
        build = REQUESTS.get((method, path))
        options = build(self, cell) if build else {}
        saved = httpx.Cookies(client.cookies)
        response: httpx.Response = client.request(
            method, self.url(path, cell), follow_redirects=False, **options
        )
        client.cookies = saved  # a sign-in must not change who this client is
        return response

    def unique(self, stem: str) -> str:
        self.created += 1
        return f"{stem}{self.created}"


Build = Callable[[World, Cell], dict[str, Any]]


def _sign_in_body(world: World, cell: Cell) -> dict[str, Any]:
    username = cell.owner
    return {"json": {"username": username, "password": PASSWORDS[username]}}


def _new_user_body(world: World, cell: Cell) -> dict[str, Any]:
    body = {"username": world.unique("matrix.user"), "password": "a-long-passphrase", "roles": ["pm"]}
    return {"json": body}


def _assign_body(world: World, cell: Cell) -> dict[str, Any]:
    pm = USER_OF_ROLE[Role.PM] if cell.whose == "own" else OTHER_PM
    return {"json": {"assignee": pm if cell.target == "pm task" else DEMO_SUPPORT.username}}


def _form(**fields: Any) -> Build:
    return lambda world, cell: {"data": {"csrf_token": world.csrf(cell), **fields}}


def _package_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    """The launch gate's package as one upload: its diagram and the form files it names."""
    forms = sorted((ROOT / "forms" / "launch_gate").glob("*.json"))
    return [("file", ("launch_gate.bpmn", BPMN, "application/xml"))] + [
        ("file", (p.name, p.read_bytes(), "application/json")) for p in forms
    ]


def _diagram_upload(world: World, cell: Cell) -> dict[str, Any]:
    return {"data": {"csrf_token": world.csrf(cell)}, "files": _package_files()}


# The minimal valid request of each route that needs a body. Sign-in, and resetting one's own password,
# keep the account's password, so the matrix can go on using it.
REQUESTS: dict[tuple[str, str], Build] = {
    ("POST", "/api/v1/auth/sign-in"): _sign_in_body,
    ("POST", "/api/v1/auth/tokens"): lambda w, c: {"json": {"name": "matrix"}},
    ("POST", "/api/v1/launches"): lambda w, c: {"json": START},
    ("POST", "/api/v1/launches/{launch_id}/comments"): lambda w, c: {"json": {"body": "Matrix."}},
    ("POST", "/api/v1/launches/{launch_id}/messages/{name}"): lambda w, c: {"json": {"payload": {}}},
    ("POST", "/api/v1/tasks/{task_id}/comments"): lambda w, c: {"json": {"body": "Matrix."}},
    ("POST", "/api/v1/tasks/{task_id}/complete"): lambda w, c: {"json": {"data": FORMS[w.task_bpmn_id(c)]}},
    ("POST", "/api/v1/tasks/{task_id}/assign"): _assign_body,
    ("POST", "/api/v1/processes"): lambda w, c: {"files": _package_files()},
    ("POST", "/api/v1/users"): _new_user_body,
    ("PATCH", "/api/v1/users/{user_id}"): lambda w, c: {"json": {"active": True}},
    ("POST", "/api/v1/users/{user_id}/password"): lambda w, c: {"json": {"password": PASSWORDS[c.owner]}},
    ("POST", "/sign-in"): lambda w, c: {
        "data": {
            "username": c.owner,
            "password": PASSWORDS[c.owner],
            "next": "/launches",
            "csrf_token": w.sign_in_token(c),
        }
    },
    ("POST", "/sign-out"): _form(),
    ("POST", "/launches/new"): _form(**START),
    ("POST", "/launches/{launch_id}/incidents/{message_id}/retry"): _form(),
    ("POST", "/launches/{launch_id}/comments"): _form(body="Matrix."),
    ("POST", "/tasks/{task_id}"): _form(action="save_draft"),
    ("POST", "/tasks/{task_id}/claim"): _form(next="/inbox"),
    ("POST", "/tasks/{task_id}/release"): _form(next="/inbox"),
    ("POST", "/tasks/{task_id}/assign"): lambda w, c: {
        "data": {"csrf_token": w.csrf(c), **_assign_body(w, c)["json"]}
    },
    ("POST", "/admin/users"): lambda w, c: _form(
        username=w.unique("matrix.page"), password="a-long-passphrase", roles=["pm"]
    )(w, c),
    ("POST", "/admin/users/{user_id}"): _form(action="enable"),
    ("POST", "/admin/processes"): _diagram_upload,
    ("POST", "/account/tokens"): _form(name="matrix"),
    ("POST", "/account/tokens/{token_id}/revoke"): _form(),
}


def _cells(path: str, expectation: Row | ByTask) -> Iterator[tuple[Row, Cell]]:
    targets = (
        [("pm task", expectation.pm_task), ("support task", expectation.support_task)]
        if isinstance(expectation, ByTask)
        else [("pm task", expectation)]
    )
    objects = ("own", "foreign") if "{" in path else ("own",)
    for target, row in targets:
        for role in ROLES:
            for whose in objects:
                yield row, Cell(role, whose, target)


def _new_events(world: World, after: int) -> list[AuditEventView]:
    reader = Actor("matrix.reader", frozenset({Role.AUDITOR}))
    return world.engine.audit_events(actor=reader, after_sequence=after, limit=1000)


def _head(world: World) -> int:
    with world.engine.db.read() as session:
        return int(
            session.execute(select(func.coalesce(func.max(AuditEventRecord.sequence), 0))).scalar_one()
        )


@pytest.mark.slow
def test_each_route_answers_each_role_as_table_says(
    app: FastAPI, sign_in: SignIn, anon_client: TestClient
) -> None:
    world = World(app, sign_in, anon_client).build()
    mismatches: list[str] = []
    unaudited: list[str] = []
    last = _head(world)
    for (method, path), expectation in EXPECTED.items():
        for row, cell in _cells(path, expectation):
            expected = row.status(cell.role, cell.whose)
            response = world.send(method, path, cell)
            got = response.status_code
            where = f"{cell.role:15} {cell.whose:7} {method:6} {path} [{cell.target}]: {got}"
            if got != expected:
                mismatches.append(f"{where}, expected {expected}: {response.text[:160]}")
            events = _new_events(world, last)
            last = events[-1].sequence if events else last
            if got in (403, 409) and [e.actor for e in events] != [cell.username]:
                unaudited.append(f"{where} left {[(e.actor, e.action) for e in events]}")
            sent_to_sign_in = got == 303 and response.headers["location"].startswith("/sign-in")
            if cell.role == "anonymous" and (got == 401 or sent_to_sign_in) and events:
                unaudited.append(f"{where} (anonymous) left {[(e.actor, e.action) for e in events]}")
            if got < 400 and (method, path) in COMPLETES_TASK:
                world.prepare(cell.whose)
                last = _head(world)
            if got < 400 and (method, path) in RELEASES_TASK:
                world.give_back(cell)
                last = _head(world)
            if got < 400 and (method, path) in ENDS_SESSION and cell.role != "anonymous":
                world.sign_back_in(cell.role)
                last = _head(world)
    server_errors = [m for m in mismatches if ": 5" in m.split(",")[0]]
    assert not server_errors, "server errors:\n" + "\n".join(server_errors)
    assert not mismatches, f"{len(mismatches)} cells differ from EXPECTED:\n" + "\n".join(mismatches)
    assert not unaudited, "refusals without exactly one audit row (G7):\n" + "\n".join(unaudited)
    assert world.engine.verify_audit().ok
