"""A small OpenAI-compatible chat-completions server for the mirrorback tests (run as a subprocess).

    python tests/llm_server.py [--port 0]      prints {"port": N} on its first stdout line

`POST /v1/chat/completions` answers from a scripted queue of behaviours, else with a default reply that
mirrors the entry in quotes. Control endpoints (test side):
    POST /_script  {"responses": [behaviour, ...], "require_key": "k" | null}   replace the queue
    GET  /_requests                                                           requests received so far
    POST /_reset                                                              empty queue and log
A behaviour is a JSON object:
    {"content": "text"}             a normal reply (usage counts words)
    {"status": 401|500|..., "body": "..."}   an HTTP error
    {"raw": "not json"}             a 200 with this body as is (malformed replies)
    {"json": {...}}                 a 200 with this JSON body
    {"delay": seconds, ...}         sleep first (timeouts), then behave as the rest says
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE: dict = {"queue": [], "requests": [], "require_key": None}
LOCK = threading.Lock()


def default_reply(messages: list[dict]) -> str:
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    entry = user.split("The entry to mirror back", 1)[-1].split(":\n", 1)[-1]
    words = re.sub(r"\s+", " ", entry).strip().split(" ")
    quote = " ".join(words[:14]).strip(" .,;:!?\"")
    return f'You wrote "{quote}". It sounds like that stayed with you, and perhaps it still does today.'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: object) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"))

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:
        if self.path == "/_requests":
            with LOCK:
                self._json(200, STATE["requests"])
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        raw = self._body()
        if self.path == "/_reset":
            with LOCK:
                STATE.update(queue=[], requests=[], require_key=None)
            self._json(200, {"ok": True})
            return
        if self.path == "/_script":
            data = json.loads(raw)
            with LOCK:
                STATE["queue"] = list(data.get("responses", []))
                STATE["require_key"] = data.get("require_key")
            self._json(200, {"ok": True})
            return
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            req = json.loads(raw)
        except ValueError:
            self._json(400, {"error": {"message": "request body is not JSON"}})
            return
        with LOCK:
            STATE["requests"].append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": req})
            behaviour = STATE["queue"].pop(0) if STATE["queue"] else {}
            key = STATE["require_key"]
        if key is not None and self.headers.get("Authorization") != f"Bearer {key}":
            self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return
        if behaviour.get("delay"):
            time.sleep(float(behaviour["delay"]))
        if "status" in behaviour:
            body = behaviour.get("body", {"error": {"message": f"scripted HTTP {behaviour['status']}"}})
            self._send(int(behaviour["status"]), json.dumps(body).encode("utf-8"))
            return
        if "raw" in behaviour:
            self._send(200, behaviour["raw"].encode("utf-8"))
            return
        if "json" in behaviour:
            self._json(200, behaviour["json"])
            return
        messages = req.get("messages") or []
        content = behaviour.get("content") or default_reply(messages)
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in messages)
        self._json(200, {
            "id": f"chatcmpl-{len(STATE['requests'])}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.get("model", "unknown"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_words, "completion_tokens": len(content.split()),
                      "total_tokens": prompt_words + len(content.split())},
        })


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is part of the script, not an error


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)

    def watchdog() -> None:
        # Stop when the test process goes away (its end of our stdin closes) or after 20 minutes.
        threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
        time.sleep(1200)
        server.shutdown()

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
