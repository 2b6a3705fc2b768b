# Keep-alive HTTP load with think time, for the drain test and benchmark:
#   python3 http_kaclient.py PORT THREADS SECONDS
# sends GET /, reads the response, waits 0-20 ms, and again; a request that
# gets no complete response counts as failed (no retry). Reconnects only
# after a "Connection: close" response or a failure.
import random, socket, sys, threading, time
port, nthreads, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ok = fail = conns = 0
lock = threading.Lock()

def one(s, buf):
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise OSError("closed")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    clen, close = 0, False
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            clen = int(v)
        elif k == b"connection" and b"close" in v.lower():
            close = True
    while len(rest) < clen:
        d = s.recv(65536)
        if not d:
            raise OSError("closed in body")
        rest += d
    return status, close, rest[clen:]

def worker():
    global ok, fail, conns
    end = time.time() + secs
    s, buf = None, b""
    while time.time() < end:
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                buf = b""
                with lock:
                    conns += 1
            status, close, buf = one(s, buf)
            with lock:
                if status == 200:
                    ok += 1
                else:
                    fail += 1
            if close:
                s.close()
                s = None
        except OSError:
            with lock:
                fail += 1
            if s:
                s.close()
            s = None
        time.sleep(random.uniform(0, 0.02))
    if s:
        s.close()

ts = [threading.Thread(target=worker) for _ in range(nthreads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok=%d fail=%d conns=%d" % (ok, fail, conns))
