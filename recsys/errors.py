"""One exception type for every mistake a user can make.

Pages show it with ``st.error``; the CLI prints it on one line and exits 2.
Anything else that escapes is a bug in our code, not in the user's input.
"""


class UserError(Exception):
    """A problem with the user's input or environment, with a message meant for them."""
