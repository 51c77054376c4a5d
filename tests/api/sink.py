"""A real HTTP sink for callout tests: a small threaded HTTP/1.1 server on 127.0.0.1 that
records every request it receives and answers according to the path:

  /status/<code>[/...]   answers <code> with the body "answer <code>"
  /slow/<ms>[/...]       waits <ms> milliseconds, then answers 200
  /close[/...]           closes the connection without answering
  /redirect[/...]        answers 302 with a Location header
  anything else          answers 200 with the body "ok"

The sink can also hold every answer for `delay` seconds (the slow host of the tests), or
until the test sets `hold` (a threading.Event) when it is one.
"""
import http.server
import socket
import threading
import time


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers  # list of (name, value) in the order received
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Sink:
    def __init__(self, delay=0.0, host="127.0.0.1"):
        self.requests = []
        self.open = 0      # requests received and not yet answered
        self.max_open = 0  # the most there ever were at once
        self.lock = threading.Lock()
        self.delay = delay
        self.hold = None
        self.received = threading.Condition(self.lock)
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, self.path, list(self.headers.items()), body)
                with sink.lock:
                    sink.requests.append(req)
                    sink.open += 1
                    sink.max_open = max(sink.max_open, sink.open)
                    sink.received.notify_all()
                self.counted = True
                try:
                    self.answer()
                finally:
                    self.uncount()

            def uncount(self):
                # before the answer goes out: the client may send its next request as
                # soon as it has it, on this connection or another
                if self.counted:
                    self.counted = False
                    with sink.lock:
                        sink.open -= 1

            def answer(self):
                parts = self.path.split("?")[0].strip("/").split("/")
                if sink.delay:
                    time.sleep(sink.delay)
                if sink.hold is not None:
                    sink.hold.wait(60)
                if parts[0] == "close":
                    self.uncount()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                code, answer, extra = 200, b"ok", []
                if parts[0] == "status" and len(parts) > 1:
                    code = int(parts[1])
                    answer = b"answer %d" % code
                elif parts[0] == "slow" and len(parts) > 1:
                    time.sleep(int(parts[1]) / 1000.0)
                elif parts[0] == "redirect":
                    code, answer, extra = 302, b"moved", [("Location", "https://example.com/")]
                self.uncount()
                self.send_response(code)
                for k, v in extra:
                    self.send_header(k, v)
                if code in (204, 304) or self.command == "HEAD":
                    self.send_header("Content-Length", "0" if code in (204, 304)
                                     else str(len(answer)))
                    self.end_headers()
                    return
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024

            def handle_error(self, request, client_address):
                pass  # a client that went away (a killed server) is expected here

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://%s:%d" % (host, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=30):
        """Waits until at least count requests arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.received.wait(left)
            return list(self.requests)

    def take(self):
        with self.lock:
            out, self.requests = self.requests, []
            return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()
