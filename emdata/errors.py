"""The one exception type of the data layer."""


class DataError(ValueError):
    """A problem with input data, carrying ONE message for the learner.

    ``str(err)`` is the sentence shown on screen: what is wrong and what to do about it.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
