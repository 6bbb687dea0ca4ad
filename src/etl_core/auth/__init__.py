"""OAuth2 client credentials (RFC 6749 §4.4), JWT bearer tokens (RFC 6750), the secret policy and scopes."""

from etl_core.auth.policy import check_auth_settings, unmet_rules
from etl_core.auth.scopes import (
    ADMIN,
    ALL_SCOPES,
    CONTEXTS_WRITE,
    EXECUTIONS_RUN,
    JOBS_READ,
    JOBS_WRITE,
    SCHEDULES_WRITE,
    allows,
)
from etl_core.auth.service import AuthService, Client, ClientAuthError
from etl_core.auth.throttle import FailureThrottle
from etl_core.auth.tokens import InvalidToken, IssuedToken, Principal, TokenService

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "CONTEXTS_WRITE",
    "EXECUTIONS_RUN",
    "JOBS_READ",
    "JOBS_WRITE",
    "SCHEDULES_WRITE",
    "AuthService",
    "Client",
    "ClientAuthError",
    "FailureThrottle",
    "InvalidToken",
    "IssuedToken",
    "Principal",
    "TokenService",
    "allows",
    "check_auth_settings",
    "unmet_rules",
]
