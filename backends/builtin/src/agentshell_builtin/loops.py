"""Stop greedy decoding that has fallen into a cycle.

Why: the built-in model decodes greedily (copying exactly is its job), and a greedy
decoder that repeats a block once keeps repeating it until the window is full, up to
about 2,000 tokens of the same words on the user's terminal (see the failures listed
in models/README.md). A repetition penalty would also damage the copies the model
exists to make (files with repeated lines, the same name twice in a call), so this
only ends a run once the same block has come back many times in a row, which a real
answer almost never does. The check costs one comparison per candidate period per
token, so it is cheap enough to run on every decoded token.
"""

from __future__ import annotations

from collections import deque

MAX_PERIOD = 48  # longest repeating block looked for, in tokens
MIN_REPEATS = 6  # copies of the block, back to back, before decoding stops
MIN_TOKENS = 48  # and at least this many tokens of repetition in all (short periods need more copies)


class LoopGuard:
    """Feed it each decoded token; it says when the output has become one block repeated.

    For every period p it counts how many of the latest tokens equal the token p places
    before them, without a break: ``run[p] >= (k - 1) * p`` means the last ``k * p``
    tokens are ``k`` copies of one block.
    """

    def __init__(self, max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS, min_tokens: int = MIN_TOKENS):
        self.max_period, self.min_repeats, self.min_tokens = max_period, min_repeats, min_tokens
        self._recent: deque[int] = deque(maxlen=max_period + 1)
        self._run = [0] * (max_period + 1)
        self.period = 0  # the block length found, once looping

    def feed(self, token: int) -> bool:
        recent, run = self._recent, self._run
        recent.append(token)
        n = len(recent)
        for p in range(1, self.max_period + 1):
            if p < n and recent[n - 1 - p] == token:
                run[p] += 1
                repeated = run[p] + p  # tokens covered by back-to-back copies of the last p
                if run[p] >= (self.min_repeats - 1) * p and repeated >= self.min_tokens:
                    self.period = p
                    return True
            else:
                run[p] = 0
        return False
