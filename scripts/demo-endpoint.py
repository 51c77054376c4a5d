#!/usr/bin/env python3
"""The demo org's third party (`make run`): a small HTTP endpoint on 127.0.0.1 that the
demo's action links call, so a newcomer sees real callouts.

  POST /approve          answers 200 (an Api link that succeeds)
  POST /reject           answers 500 (an Api link that fails, with a diagnostic)
  POST /async            answers 202, then after two seconds calls the execution's
                         {!callbackUrl} with {!callbackToken} (an ApiAsync link)
  GET  /file.txt, /page  what the Download and Ui links lead to
"""
import http.server
import json
import sys
import threading
import time
import urllib.request


def complete_later(url, token):
    time.sleep(2)
    req = urllib.request.Request(url, method="PATCH",
                                 data=json.dumps({"status": "SuccessfulStatus"}).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except Exception as e:  # the demo goes on; the link then fails at its deadline
        print("demo endpoint: callback failed:", e, file=sys.stderr)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/approve"):
            self.answer(200, '{"approved":true}')
        elif self.path.startswith("/async"):
            try:
                req = json.loads(body or b"{}")
                threading.Thread(target=complete_later, daemon=True,
                                 args=(req["callbackUrl"], req["callbackToken"])).start()
                self.answer(202, '{"accepted":true}')
            except (ValueError, KeyError):
                self.answer(400, '{"error":"expected callbackUrl and callbackToken"}')
        else:
            self.answer(500, '{"error":"the demo endpoint refuses this one on purpose"}')

    def do_GET(self):
        if self.path.startswith("/file.txt"):
            self.answer(200, "A file from the demo endpoint.\n", "text/plain; charset=utf-8")
        else:
            self.answer(200, "<!doctype html><title>Demo page</title><h1>The demo page</h1>"
                             "<p>A Ui action link brought you here.</p>",
                        "text/html; charset=utf-8")


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8081
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()
