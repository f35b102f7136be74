# A function for the end-to-end tests: appends " py" to each payload, and
# writes its process id where MESHC_TEST_PIDFILE says, for a test to kill it.
import os

import meshc_function

pidfile = os.environ.get("MESHC_TEST_PIDFILE")
if pidfile:
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(pidfile + ".tmp", pidfile)


def tag(msg, ctx):
    ctx.incr_counter("seen", 1)
    return msg.payload + b" py"


meshc_function.run(tag)
