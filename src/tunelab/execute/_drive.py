"""The one driver loop: requests to idle lanes, answers back to a policy, round after round.

Everything that trains goes through :func:`drive`: ``tune``'s study sessions (their policy
asks, reports, prunes and tells; see ``tunelab.study.CohortScheduler``) and
:func:`~tunelab.execute.train_runs` (a first-in-first-out policy over a list of
configurations). A policy decides what each idle lane does next and takes each answer; the
loop only moves messages between it and the executor, so the round structure (what is sent
when, when a decision reaches the engine) is the same for every caller.

A round: every idle lane gets the policy's next request (or stays idle); then, when no lane is
busy, the policy says whether to look again (:meth:`Policy.idle`) or stop; else the loop waits
for the lanes that answer, gives each answer to the policy, and closes the round
(:meth:`Policy.after_round`). Whatever the policy decides while it takes an answer (a stop, a
save, a refill) goes out with that lane's next request, before the lane trains again.

Example:
    >>> from tunelab.execute import LocalExecutor, StepRequest, StepResult
    >>> class Once:
    ...     def __init__(self):
    ...         self.sent, self.answers = False, []
    ...     def request(self, lane):
    ...         if self.sent:
    ...             return None
    ...         self.sent = True
    ...         return StepRequest(run_epoch=False)  # no cohort: nothing to train
    ...     def absorb(self, lane, result):
    ...         self.answers.append((lane, result.running))
    ...     def idle(self):
    ...         return False
    ...     def waiting(self):
    ...         pass
    ...     def after_round(self):
    ...         pass
    >>> policy = Once()
    >>> with LocalExecutor() as ex:
    ...     drive(ex, policy)
    >>> policy.answers
    [(0, [])]
"""

from __future__ import annotations

from typing import Protocol

from tunelab._interrupt import raise_if_interrupted
from tunelab.execute._base import Executor
from tunelab.execute._protocol import StepRequest, StepResult

__all__ = ["Policy", "drive"]


class Policy(Protocol):
    """What :func:`drive` asks of its caller."""

    def request(self, lane: int) -> StepRequest | None:
        """The next request for idle ``lane``, or None to leave it idle this round."""

    def absorb(self, lane: int, result: StepResult) -> None:
        """Take ``lane``'s answer (its next request carries what this decides)."""

    def idle(self) -> bool:
        """No lane is busy and none got a request: True to look again, False to end."""

    def waiting(self) -> None:
        """Requests are out; the loop is about to wait for answers."""

    def after_round(self) -> None:
        """Every answer of the round was absorbed."""


def drive(executor: Executor, policy: Policy) -> None:
    """Run rounds until the policy has nothing left to send and ends (see the module).

    The executor must be started; it is neither started nor closed here. A Ctrl-C latched
    while waiting (``tunelab._interrupt.latched``) is raised when the wait returns, before the
    round's answers are absorbed: the caller retires what was in flight.
    """
    while True:
        busy = executor.busy()
        for lane in range(executor.lanes):
            if lane not in busy:
                request = policy.request(lane)
                if request is not None:
                    executor.submit(lane, request)
        if not executor.busy():
            if policy.idle():
                continue
            return
        policy.waiting()
        answers = executor.wait()
        raise_if_interrupted()
        for lane, result in answers:
            policy.absorb(lane, result)
        policy.after_round()
