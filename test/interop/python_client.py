#!/usr/bin/python3
"""Autobahn|Python (asyncio) client for Switchyard interop tests.

Usage: python_client.py URL REALM SCENARIO [SERIALIZER]

SERIALIZER is json (default), msgpack or cbor. Prints exactly one JSON line on stdout:
{"ok": bool, "scenario": ..., "serializer": ..., "welcome": {...}, ...scenario results...,
 "error": "..." (only when ok is false)} and exits 0 if ok, 1 otherwise. A hard timeout inside the
script (HARD_TIMEOUT_S) prints {"ok": false, "error": "hard timeout ..."} and exits 3, so the script
never hangs its caller.

Scenarios (the JS side of the test does the other half):
  call       call com.interop.js.echo(1, "two", {...}, k=...) and com.interop.js.fail (an error)
  register   register com.interop.py.add and com.interop.py.fail, serve calls until
             com.interop.py.stop is called, then leave
  subscribe  subscribe to com.interop.js.topic, collect events until one has kwargs {"last": true}
  publish    publish to com.interop.py.topic (acknowledged) and leave
Every scenario carries a bytes value too (JSON: the router's "\0"+base64 convention).
"""

import asyncio
import json
import os
import signal
import sys

HARD_TIMEOUT_S = 15

RESULT = {"ok": False}


def emit_and_exit(code):
    sys.stdout.write(json.dumps(RESULT, sort_keys=True, default=_json_default) + "\n")
    sys.stdout.flush()
    os._exit(code)


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes_hex__": bytes(value).hex()}
    return repr(value)


def on_alarm(signum, frame):
    RESULT["ok"] = False
    RESULT["error"] = "hard timeout after %d s" % HARD_TIMEOUT_S
    emit_and_exit(3)


def plain(value):
    """JSON-safe copy; bytes become {"__bytes_hex__": "..."} so the JS side can check them."""
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes_hex__": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def main():
    if len(sys.argv) < 4:
        RESULT["error"] = "usage: python_client.py URL REALM SCENARIO [SERIALIZER]"
        emit_and_exit(2)
    url, realm, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    ser_name = sys.argv[4] if len(sys.argv) > 4 else "json"
    RESULT.update({"scenario": scenario, "serializer": ser_name})

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HARD_TIMEOUT_S)

    try:
        import txaio
        txaio.use_asyncio()
        import autobahn
        from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
        from autobahn.wamp import serializer as wamp_serializer
        from autobahn.wamp.exception import ApplicationError
        from autobahn.wamp.types import CallResult, PublishOptions, RegisterOptions
    except Exception as e:  # noqa: BLE001
        RESULT["error"] = "import failed: %r" % (e,)
        emit_and_exit(1)

    RESULT["autobahn"] = autobahn.__version__
    serializers = {
        "json": lambda: wamp_serializer.JsonSerializer(),
        "msgpack": lambda: wamp_serializer.MsgPackSerializer(),
        "cbor": lambda: wamp_serializer.CBORSerializer(),
    }
    if ser_name not in serializers:
        RESULT["error"] = "unknown serializer %s" % ser_name
        emit_and_exit(2)
    try:
        serializer = serializers[ser_name]()
    except Exception as e:  # noqa: BLE001  (e.g. CBORSerializer missing without cbor2)
        RESULT["error"] = "serializer %s unavailable: %r" % (ser_name, e)
        emit_and_exit(1)
    # Every serializer carries bytes: msgpack/cbor natively, Autobahn|Python's JSON serializer as
    # "\u0000" + base64 (wamp-spec section 11.2), which the router must translate.
    blob = bytes([0, 1, 2, 127, 128, 254, 255])

    class Client(ApplicationSession):
        async def onJoin(self, details):
            roles = getattr(self, "_router_roles", None) or {}

            def features(role):
                obj = roles.get(role)
                return sorted(k for k, v in vars(obj).items() if v is True) if obj is not None else None

            RESULT["welcome"] = {
                "session": details.session, "realm": details.realm, "authid": details.authid,
                "authrole": details.authrole, "authmethod": details.authmethod,
                "authprovider": details.authprovider, "serializer": details.serializer,
                "broker_features": features("broker"), "dealer_features": features("dealer"),
            }
            try:
                await getattr(self, "scenario_" + scenario)()
                RESULT["ok"] = True
            except AttributeError as e:
                RESULT["error"] = "unknown scenario %s (%r)" % (scenario, e)
            except Exception as e:  # noqa: BLE001
                RESULT["error"] = "%s: %s" % (type(e).__name__, e)
                if isinstance(e, ApplicationError):
                    RESULT["error_uri"] = e.error
            self.leave()

        def onLeave(self, details):
            RESULT["leave_reason"] = details.reason
            self.disconnect()

        def onDisconnect(self):
            asyncio.get_event_loop().stop()

        # ----- scenarios -----

        async def scenario_call(self):
            args = [1, "two", {"three": 3}, 123456789012, 2.5, None, True]
            args.append(blob)
            res = await self.call("com.interop.js.echo", *args, who="python", nested={"a": [1, 2]})
            if isinstance(res, CallResult):
                RESULT["result_args"] = plain(list(res.results))
                RESULT["result_kwargs"] = plain(res.kwresults)
            else:
                RESULT["result_single"] = plain(res)
            try:
                await self.call("com.interop.js.fail", 7)
                RESULT["fail_error"] = None
            except ApplicationError as e:
                RESULT["fail_error"] = {"uri": e.error, "args": plain(list(e.args)), "kwargs": plain(e.kwargs)}
            try:
                await self.call("com.interop.nobody")
                RESULT["missing_error"] = None
            except ApplicationError as e:
                RESULT["missing_error"] = e.error

        async def scenario_register(self):
            invocations = []
            done = asyncio.get_event_loop().create_future()

            def add(a, b, *rest, **kwargs):
                invocations.append({"args": plain([a, b] + list(rest)), "kwargs": plain(kwargs)})
                return CallResult(a + b, blob, py=True, echo=kwargs)

            def fail(*args, **kwargs):
                raise ApplicationError("com.interop.error.py", "bad input", *args, reason="python says no")

            def stop():
                if not done.done():
                    done.set_result(True)
                return "bye"

            await self.register(add, "com.interop.py.add")
            await self.register(fail, "com.interop.py.fail")
            await self.register(stop, "com.interop.py.stop", options=RegisterOptions())
            await asyncio.wait_for(done, HARD_TIMEOUT_S - 3)
            # Let the YIELD for stop leave before GOODBYE.
            await asyncio.sleep(0.05)
            RESULT["invocations"] = invocations

        async def scenario_subscribe(self):
            events = []
            done = asyncio.get_event_loop().create_future()

            def on_event(*args, **kwargs):
                events.append({"args": plain(list(args)), "kwargs": plain(kwargs)})
                if kwargs.get("last") is True and not done.done():
                    done.set_result(True)

            await self.subscribe(on_event, "com.interop.js.topic")
            await asyncio.wait_for(done, HARD_TIMEOUT_S - 3)
            RESULT["events"] = events

        async def scenario_publish(self):
            args = ["from python", 42, {"x": [1, 2]}]
            args.append(blob)
            pub = await self.publish("com.interop.py.topic", *args, who="python",
                                     options=PublishOptions(acknowledge=True))
            RESULT["publication"] = pub.id

    try:
        runner = ApplicationRunner(url, realm, serializers=[serializer])
        runner.run(Client, log_level="warn")
    except Exception as e:  # noqa: BLE001
        RESULT["ok"] = False
        RESULT.setdefault("error", "runner failed: %s: %s" % (type(e).__name__, e))
    if "welcome" not in RESULT and "error" not in RESULT:
        RESULT["error"] = "never joined"
        RESULT["ok"] = False
    emit_and_exit(0 if RESULT.get("ok") else 1)


if __name__ == "__main__":
    main()
