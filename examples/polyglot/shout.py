"""shout: upper-cases each sentence, appends the suffix from the mesh's
config, and numbers it with a counter kept in the function's state."""
import os
import sys

# The helper is one file: beside this one, or where the repository keeps it.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "external", "python"))
import meshc_function  # noqa: E402

suffix = meshc_function.config().get("suffix", "")


def shout(msg, ctx):
    ctx.incr_counter("sentences", 1)
    return "%s%s #%d" % (msg.text.upper(), suffix, ctx.get_counter("sentences"))


meshc_function.run(shout)
