# The identity function, for benchmarks.
import meshc_function

meshc_function.run(lambda msg, ctx: msg.payload)
