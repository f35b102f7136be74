# A function for the end-to-end tests: appends " py" to each payload, and
# writes its process id where MESHC_TEST_PIDFILE says, for a test to kill it.
# With {"count": true} in its config it also counts the payloads in its
# state, reading the counter back as a stateful function does.
import os

import meshc_function

pidfile = os.environ.get("MESHC_TEST_PIDFILE")
if pidfile:
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(pidfile + ".tmp", pidfile)

counting = meshc_function.config().get("count", False)


def tag(msg, ctx):
    if counting:
        ctx.incr_counter("seen", 1)
        ctx.get_counter("seen")
    return msg.payload + b" py"


meshc_function.run(tag)
