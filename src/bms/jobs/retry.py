"""Bounded retries with exponential back-off for sources and stores that may be down."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` calls in all, waiting ``base_seconds`` x 2^k (at most
    ``max_seconds``, with +-20 % jitter) between them, on the exception types ``retry_on``.

    The default (4 attempts, 1 s, 2 s, 4 s) gives up after about 7 s of waiting.
    """

    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 30.0
    retry_on: tuple[type[BaseException], ...] = (OSError,)

    def delays(self) -> list[float]:
        """The waits between attempts [s], before jitter."""
        return [min(self.base_seconds * 2**k, self.max_seconds) for k in range(self.attempts - 1)]


def retry_call(
    fn: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it succeeds or ``policy.attempts`` calls failed; re-raise the last error.

    Only exceptions in ``policy.retry_on`` (connection errors, timeouts: ``OSError``) are
    retried; any other one, such as a bad configuration, is raised at once.
    """
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            return fn()
        except policy.retry_on as exc:
            if attempt == policy.attempts - 1:
                raise
            wait = delays[attempt] * random.uniform(0.8, 1.2)
            log.warning(
                "%s failed (%s); retry %d/%d in %.1f s",
                what,
                exc,
                attempt + 1,
                policy.attempts - 1,
                wait,
            )
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
