"""Users, sign-in, browser sessions and API tokens. Framework-free; the API layer calls AccountService.

| module | job |
|---|---|
| `service.py` | `AccountService`, the facade: one method per command, delegating |
| `users.py` | user administration (admins only), field validation |
| `sessions.py` | sign-in, session look-up, sign-out |
| `tokens.py` | personal API tokens |
| `rate_limit.py` | failed sign-ins per account and per address |
| `passwords.py` | argon2id hashes, digests of handed-out secrets |
| `views.py` | the frozen views handed out |

Their reads and writes are in engine/db/accounts.py.
"""

from engine.accounts.rate_limit import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from engine.accounts.service import AccountService
from engine.accounts.views import ApiTokenView, SessionGrant, SessionView, UserView

__all__ = [
    "MAX_FAILURES_PER_ACCOUNT",
    "MAX_FAILURES_PER_ADDRESS",
    "AccountService",
    "ApiTokenView",
    "SessionGrant",
    "SessionView",
    "UserView",
]
