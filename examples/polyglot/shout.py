"""shout: upper-cases each sentence, counts them in the function's state,
and appends the suffix from the mesh's config."""
import os
import sys

# The helper is one file: beside this one, or where the repository keeps it.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "external", "python"))
import meshc_function  # noqa: E402

suffix = meshc_function.config().get("suffix", "")


def shout(msg, ctx):
    ctx.incr_counter("sentences", 1)
    return msg.text.upper() + suffix


meshc_function.run(shout)
