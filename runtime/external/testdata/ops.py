# A function for the tests: the same behaviours as the Go test child.
import os
import sys

import meshc_function


def handle(msg, ctx):
    p = msg.payload
    if p == b"ops":
        props = " ".join("%s:%s" % kv for kv in sorted(msg.properties.items()))
        ctx.put_state("last", p)
        ctx.incr_counter("seen", 2)
        ctx.publish("audit", "audited")
        ctx.delete_state("old")
        ctx.emit("second")
        return "key=%s props=map[%s] topic=%s id=%s time=%d" % (
            msg.key, props, msg.topic, msg.message_id, msg.event_time)
    if p == b"fail":
        raise ValueError("cannot do it")
    if p == b"bad":
        raise meshc_function.BadInput("not a number")
    if p == b"log":
        print("a line for the log")
        return None
    if p == b"config":
        return meshc_function.config()
    if p == b"pid":
        return str(os.getpid())
    if p == b"read":
        return read_state(ctx)
    return p.upper()


def read_state(ctx):
    ctx.put_state("mine", "x")
    mine = ctx.get_state("mine")
    k = ctx.get_state("k")
    ctx.incr_counter("n", 2)
    n = ctx.get_counter("n")
    return "mine=%s k=%s(%s) n=%d" % (mine.decode(), (k or b"").decode(), "true" if k is not None else "false", n)


meshc_function.run(handle)
