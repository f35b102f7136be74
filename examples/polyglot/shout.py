"""shout: upper-cases each sentence, appends the suffix from the mesh's
config, and numbers it with a counter kept in the function's state."""
import meshc_function  # shipped with meshc: every instance puts it on PYTHONPATH

suffix = meshc_function.config().get("suffix", "")


def shout(msg, ctx):
    ctx.incr_counter("sentences", 1)
    return "%s%s #%d" % (msg.text.upper(), suffix, ctx.get_counter("sentences"))


meshc_function.run(shout)
