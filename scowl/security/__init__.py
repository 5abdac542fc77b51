"""Peers with identities: CURVE keys and the enrolment table (keys), ZAP on the asyncio loop
(zap), an actor's identity on its sockets (credentials), who may send what (policy) and the
value checks every message passes where it enters (values)."""

from scowl.security.credentials import Credentials, needs_keys
from scowl.security.keys import (
           Enrolment,
           EnrolmentError,
           Keypair,
           enrol,
           enrol_all,
           load_keypair,
)
from scowl.security.policy import RULES, Roster, authorize
from scowl.security.values import check as check_values

__all__ = [
           "RULES",
           "Credentials",
           "Enrolment",
           "EnrolmentError",
           "Keypair",
           "Roster",
           "authorize",
           "check_values",
           "enrol",
           "enrol_all",
           "load_keypair",
           "needs_keys",
]
