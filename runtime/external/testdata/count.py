# A stateful function for the end-to-end tests: counts each word, and says
# which word came before it.
import meshc_function


def count(msg, ctx):
    word = msg.text
    ctx.incr_counter(word, 1)
    previous = ctx.get_state("previous")
    ctx.put_state("previous", word)
    return "%s %d after %s" % (word, ctx.get_counter(word), (previous or b"-").decode())


meshc_function.run(count)
