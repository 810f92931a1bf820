"""Staff passwords: Argon2id in PHC string form (argon2-cffi).

Parameters are RFC 9106's second recommended option, "low memory" (64 MiB, t=3,
p=4; https://www.rfc-editor.org/rfc/rfc9106#section-4). A stored hash made with
weaker parameters is upgraded at the next successful sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from rumbo.errors import RumboError

MIN_LENGTH = 10
MAX_LENGTH = 1024


class Passwords:
    """Hashes and checks passwords; holds one hash of a throw-away password so that
    an unknown e-mail costs the same time as a wrong password."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        check_strength(password)
        return self.hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def burn(self, password: str) -> None:
        """Spend one verification's time for nothing (an unknown or inactive account)."""
        if self._dummy is None:
            self._dummy = self.hasher.hash("rumbo-no-such-account")
        self.verify(self._dummy, password)


def check_strength(password: str) -> None:
    """Length is what matters (NIST SP 800-63B §5.1.1.2): at least 10, at most 1024."""
    if len(password) < MIN_LENGTH:
        raise RumboError(
            f"A password needs at least {MIN_LENGTH} characters.", 422, "password_too_short"
        )
    if len(password) > MAX_LENGTH:
        raise RumboError(
            f"A password has at most {MAX_LENGTH} characters.", 422, "password_too_long"
        )


PASSWORDS = Passwords()
