"""A clock for the API rate limits that tests set by hand."""

# A whole number of days since the epoch: minute, hour and day windows all start here.
WINDOW_START = 20_000 * 86_400.0


class ThrottleClock:
    """Pinned ten seconds into a window, so a test's requests never straddle two."""

    def __init__(self) -> None:
        self.now = WINDOW_START + 10

    def __call__(self) -> float:
        return self.now
