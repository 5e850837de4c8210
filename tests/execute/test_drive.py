"""The one driver loop: what it asks of a policy, and in what order."""

from __future__ import annotations

from tunelab.execute import Executor, StepRequest, StepResult, drive


class _Echo(Executor):
    """Two lanes that answer every request with the slots it assigned, as running."""

    def __init__(self) -> None:
        self.inflight: dict[int, StepRequest] = {}

    @property
    def lanes(self) -> int:
        return 2

    def submit(self, lane: int, request: StepRequest) -> None:
        assert lane not in self.inflight
        self.inflight[lane] = request

    def busy(self) -> set[int]:
        return set(self.inflight)

    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        out = [(lane, StepResult(running=sorted(r.assigns))) for lane, r in
               sorted(self.inflight.items())]
        self.inflight.clear()
        return out


class _Script:
    """Sends ``rounds`` requests to lane 0 and one to lane 1; looks again once when idle."""

    def __init__(self, rounds: int) -> None:
        self.left = {0: rounds, 1: 1}
        self.events: list[str] = []
        self.looked_again = False

    def request(self, lane: int) -> StepRequest | None:
        if not self.left[lane]:
            return None
        self.left[lane] -= 1
        self.events.append(f"send {lane}")
        return StepRequest()

    def absorb(self, lane: int, result: StepResult) -> None:
        self.events.append(f"answer {lane}")

    def idle(self) -> bool:
        self.events.append("idle")
        if self.looked_again:
            return False
        self.looked_again = True
        self.left[1] = 1  # new work turns up while nothing runs (a retry in a shared study)
        return True

    def waiting(self) -> None:
        self.events.append("wait")

    def after_round(self) -> None:
        self.events.append("end")


def test_rounds_send_to_idle_lanes_then_absorb_every_answer() -> None:
    policy = _Script(rounds=2)
    drive(_Echo(), policy)
    assert policy.events == [
        "send 0", "send 1", "wait", "answer 0", "answer 1", "end",
        "send 0", "wait", "answer 0", "end",
        "idle", "send 1", "wait", "answer 1", "end",
        "idle",
    ]
