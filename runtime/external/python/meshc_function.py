"""Run a Python function under meshc's instance runtime.

A mesh names the program with exec(...), for example

    function shout(words) -> loud {
      use = exec("python3", "shout.py")
    }

and shout.py hands its function to run():

    import meshc_function

    def shout(msg, ctx):
        ctx.incr_counter("seen", 1)
        return "%s (%d so far)" % (msg.text.upper(), ctx.get_counter("seen"))

    meshc_function.run(shout)

The runtime starts the program once per instance and sends it one call per
message on standard input; run() answers each on standard output, in the
framing SPEC.md describes under "External processes". A function returns
the output payload (bytes, str, or any other value, written as JSON), None for
no output, or a list of payloads;
it raises BadInput for an input it can never handle (dead-lettered at once)
and any other exception to have the message retried. ctx reads and changes
the function's state (state = true in the mesh): a read sees what the messages
before this one left, and this message's own changes. print() and logging go
to standard error, which the runtime writes to the instance log.

Standard library only: copy this file next to your function.
"""

import collections
import json
import os
import struct
import sys
import traceback

__all__ = ["BadInput", "Context", "Message", "StateError", "config", "run"]

CALL, RESULT, QUERY, ANSWER = 1, 2, 3, 4
# Tags of the fields of a call.
PAYLOAD, KEY, PROPERTY, TOPIC, MESSAGE_ID, EVENT_TIME = 1, 2, 3, 4, 5, 6
# Tags of the fields of a result.
OUTPUT, ERROR, PUT_STATE, DELETE_STATE, INCR_COUNTER, PUBLISH, BAD_INPUT = 16, 17, 18, 19, 20, 21, 22
# Tags of the fields of a query and its answer.
GET_STATE, GET_COUNTER, VALUE, COUNTER = 23, 24, 25, 26
KEYED = {PROPERTY, PUT_STATE, DELETE_STATE, INCR_COUNTER, PUBLISH}
MAX_SIZE = 64 << 20

_u32 = struct.Struct(">I")
_i64 = struct.Struct(">q")
_head = struct.Struct(">IBQ")  # length, kind, id


class BadInput(Exception):
    """An input the function can never handle: dead-lettered without retries."""


class Message:
    """One message from the function's input topics."""

    __slots__ = ("payload", "key", "properties", "topic", "message_id", "event_time")

    def __init__(self):
        self.payload = b""
        self.key = ""
        self.properties = {}
        self.topic = ""
        self.message_id = ""
        self.event_time = None  # milliseconds since 1970, when the producer set it

    @property
    def text(self):
        """The payload as UTF-8 text."""
        return self.payload.decode("utf-8")

    def json(self):
        """The payload read as JSON."""
        return json.loads(self.payload)


class StateError(Exception):
    """The runtime could not read the function's state."""


class _Broken(BaseException):
    """The framing broke while a call waited for an answer: not the
    function's error, so the program ends and the runtime restarts it."""


class Context:
    """What the function does besides returning its output. The runtime
    applies it, in order, only when the function returns without raising.
    It also reads the function's state as it stands for this message."""

    def __init__(self, channel=None, call_id=0):
        self._fields = []
        self._channel = channel
        self._id = call_id

    def emit(self, payload):
        """Sends one more payload to the output topic."""
        self._fields.append((OUTPUT, None, _bytes(payload)))

    def publish(self, topic, payload):
        """Sends a payload to another topic the function may publish to."""
        self._fields.append((PUBLISH, topic, _bytes(payload)))

    def put_state(self, key, value):
        """Sets a key of the function's state (state = true in the mesh)."""
        self._fields.append((PUT_STATE, key, _bytes(value)))

    def delete_state(self, key):
        """Removes a key of the function's state."""
        self._fields.append((DELETE_STATE, key, b""))

    def incr_counter(self, key, by=1):
        """Adds by to a counter of the function's state."""
        self._fields.append((INCR_COUNTER, key, _i64.pack(by)))

    def get_state(self, key):
        """The bytes of a state key, or None: what this message set already,
        else what the messages before it left."""
        for tag, name, value in reversed(self._fields):
            if name == key and tag == PUT_STATE:
                return value
            if name == key and tag == DELETE_STATE:
                return None
        return self._query(GET_STATE, key).get(VALUE)

    def get_counter(self, key):
        """The value of a counter, with what this message added to it."""
        answer = self._query(GET_COUNTER, key)
        n = _i64.unpack(answer[COUNTER])[0] if COUNTER in answer else 0
        for tag, name, value in self._fields:
            if tag == INCR_COUNTER and name == key:
                n += _i64.unpack(value)[0]
        return n

    def _query(self, tag, key):
        if self._channel is None:
            raise StateError("this context is not of a call from the runtime")
        answer = self._channel.query(self._id, tag, key)
        if ERROR in answer:
            raise StateError("reading %r from the function's state: %s" % (key, answer[ERROR].decode("utf-8", "replace")))
        return answer


def config():
    """The function's user configuration from the mesh, as a dict."""
    return json.loads(os.environ.get("MESHC_FUNCTION_CONFIG") or "{}")


def _bytes(v):
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    return json.dumps(v, separators=(",", ":")).encode("utf-8")


def _read_exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        if not data:
            return None
        raise EOFError("standard input ended inside a frame")
    return data


def _read_frame(stream):
    """Reads one frame as (kind, id, [(tag, name, value)]), or None at the
    end of the input."""
    head = _read_exact(stream, 4)
    if head is None:
        return None
    (n,) = _u32.unpack(head)
    if n < 9 or n > MAX_SIZE:
        raise ValueError("not a meshc frame: length %d" % n)
    body = _read_exact(stream, n)
    if body is None:
        raise EOFError("standard input ended inside a frame")
    kind, (frame_id,) = body[0], struct.unpack_from(">Q", body, 1)
    fields, i = [], 9
    while i < n:
        if n - i < 5:
            raise ValueError("a field is cut short")
        tag, (size,) = body[i], _u32.unpack_from(body, i + 1)
        i += 5
        value = body[i:i + size]
        if len(value) != size:
            raise ValueError("a field runs past the frame")
        i += size
        name = None
        if tag in KEYED:
            (k,) = _u32.unpack_from(value, 0)
            name, value = value[4:4 + k].decode("utf-8"), value[4 + k:]
        fields.append((tag, name, value))
    return kind, frame_id, fields


def _message(fields):
    msg = Message()
    for tag, name, value in fields:
        if tag == PAYLOAD:
            msg.payload = value
        elif tag == KEY:
            msg.key = value.decode("utf-8")
        elif tag == PROPERTY:
            msg.properties[name] = value.decode("utf-8")
        elif tag == TOPIC:
            msg.topic = value.decode("utf-8")
        elif tag == MESSAGE_ID:
            msg.message_id = value.decode("utf-8")
        elif tag == EVENT_TIME:
            (msg.event_time,) = _i64.unpack(value)
    return msg


class _Channel:
    """The runtime's side: calls and answers come in, results and queries go out."""

    def __init__(self, stdin, stdout):
        self.stdin, self.stdout = stdin, stdout
        self.queued = collections.deque()  # calls that came while a query waited

    def next_call(self):
        """The next call as (id, Message), or None at the end of the input."""
        if self.queued:
            return self.queued.popleft()
        frame = _read_frame(self.stdin)
        if frame is None:
            return None
        kind, call_id, fields = frame
        if kind != CALL:
            raise ValueError("not a call: kind %d" % kind)
        return call_id, _message(fields)

    def query(self, call_id, tag, key):
        """Asks the runtime for a key; returns the answer's fields by tag."""
        try:
            self.stdout.write(_frame(QUERY, call_id, [(tag, None, key.encode("utf-8"))]))
            self.stdout.flush()
            while True:
                frame = _read_frame(self.stdin)
                if frame is None:
                    raise EOFError("standard input ended while waiting for the runtime's answer")
                kind, frame_id, fields = frame
                if kind == CALL:
                    self.queued.append((frame_id, _message(fields)))
                elif kind == ANSWER and frame_id == call_id:
                    return {t: v for t, _, v in fields}
                else:
                    raise ValueError("kind %d for call %d where the answer for call %d was expected" % (kind, frame_id, call_id))
        except (OSError, ValueError, EOFError, struct.error) as e:
            raise _Broken("waiting for the runtime's answer: %s" % e) from e


def _frame(kind, frame_id, fields):
    parts = []
    for tag, name, value in fields:
        if name is not None:
            key = name.encode("utf-8")
            value = _u32.pack(len(key)) + key + value
        parts.append(struct.pack(">BI", tag, len(value)))
        parts.append(value)
    body = b"".join(parts)
    return _head.pack(9 + len(body), kind, frame_id) + body


def _handle(fn, msg, ctx):
    try:
        out = fn(msg, ctx)
    except BadInput as e:
        return [(BAD_INPUT, None, _bytes(str(e) or "bad input"))]
    except Exception as e:  # the message is retried, then dead-lettered
        traceback.print_exc(file=sys.stderr)
        return [(ERROR, None, _bytes("%s: %s" % (type(e).__name__, e)))]
    outputs = []
    if isinstance(out, list):
        outputs = [(OUTPUT, None, _bytes(o)) for o in out]
    elif out is not None:
        outputs = [(OUTPUT, None, _bytes(out))]
    return outputs + ctx._fields


def run(fn):
    """Serves calls until the runtime closes standard input. fn(msg, ctx)
    handles one Message; see the module's documentation."""
    stdin = sys.stdin.buffer
    # Frames go to the real standard output; everything else the program
    # prints goes to standard error, so it cannot corrupt the framing.
    stdout = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    channel = _Channel(stdin, stdout)
    while True:
        call = channel.next_call()
        if call is None:
            stdout.flush()
            return
        call_id, msg = call
        stdout.write(_frame(RESULT, call_id, _handle(fn, msg, Context(channel, call_id))))
        stdout.flush()
