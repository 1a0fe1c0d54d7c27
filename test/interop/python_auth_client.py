#!/usr/bin/python3
"""Autobahn|Python (asyncio) authenticating client for Switchyard interop tests.

Usage: python_auth_client.py URL REALM [SERIALIZER]

The credentials come in the environment variable SWITCHYARD_PY_AUTH (never on the command line,
where `ps` would show them), as JSON: {"method": "wampcra"|"ticket"|"cryptosign", "authid": ...,
"secret": ... | "ticket": ... | "privkey": <64 hex seed>}. The client uses Autobahn's own
authenticators through `Component(authentication={method: {...}})`; for WAMP-CRA that is
AuthWampCra, which derives the PBKDF2 key by itself when the CHALLENGE carries a salt.

Prints exactly one JSON line on stdout:
  {"ok": true, "welcome": {session, realm, authid, authrole, authmethod, authprovider}, ...}
when the session joined (then leaves), or
  {"ok": false, "leave_reason": "wamp.error....", "error": "..."}
when it was refused. Exit code 0 when joined, 1 when refused or failed, 2 on bad usage, 3 on the
internal hard timeout (HARD_TIMEOUT_S), so the script never hangs its caller.
"""

import asyncio
import json
import os
import signal
import sys

HARD_TIMEOUT_S = 15

RESULT = {"ok": False}


def emit_and_exit(code):
    sys.stdout.write(json.dumps(RESULT, sort_keys=True, default=repr) + "\n")
    sys.stdout.flush()
    os._exit(code)


def on_alarm(signum, frame):
    RESULT["ok"] = False
    RESULT["error"] = "hard timeout after %d s" % HARD_TIMEOUT_S
    emit_and_exit(3)


def main():
    if len(sys.argv) < 3:
        RESULT["error"] = "usage: python_auth_client.py URL REALM [SERIALIZER]"
        emit_and_exit(2)
    url, realm = sys.argv[1], sys.argv[2]
    ser_name = sys.argv[3] if len(sys.argv) > 3 else "json"
    try:
        auth = json.loads(os.environ["SWITCHYARD_PY_AUTH"])
        method = auth.pop("method")
    except Exception as e:  # noqa: BLE001
        RESULT["error"] = "SWITCHYARD_PY_AUTH missing or invalid: %r" % (e,)
        emit_and_exit(2)
    RESULT.update({"method": method, "serializer": ser_name})

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HARD_TIMEOUT_S)

    try:
        import txaio
        txaio.use_asyncio()
        import autobahn
        from autobahn.asyncio.component import Component
    except Exception as e:  # noqa: BLE001
        RESULT["error"] = "import failed: %r" % (e,)
        emit_and_exit(1)
    RESULT["autobahn"] = autobahn.__version__

    component = Component(
        transports=[{
            "type": "websocket",
            "url": url,
            "serializers": [ser_name],
            "max_retries": 0,
        }],
        realm=realm,
        authentication={method: auth},
    )

    @component.on_join
    async def joined(session, details):
        RESULT["welcome"] = {
            "session": details.session, "realm": details.realm, "authid": details.authid,
            "authrole": details.authrole, "authmethod": details.authmethod,
            "authprovider": details.authprovider,
        }
        RESULT["ok"] = True
        session.leave()

    @component.on_leave
    async def left(session, details):
        RESULT["leave_reason"] = details.reason
        if details.message:
            RESULT["leave_message"] = details.message

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(component.start(loop))
    except Exception as e:  # noqa: BLE001  (a refused join ends the component with an error)
        if not RESULT["ok"]:
            RESULT["error"] = "%s: %s" % (type(e).__name__, e)
    emit_and_exit(0 if RESULT["ok"] else 1)


if __name__ == "__main__":
    main()
