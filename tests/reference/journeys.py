#!/usr/bin/env python3
"""Independent reference for mtastat's message journeys (tests only).

Reads Postfix or Exim logs (plain text, in the order given) with regular
expressions and a dict per queue id, written without looking at mtastat's
code, and prints one JSON object per recipient journey:
{"queue_id", "recipient", "disposition", "attempts", "deferrals"}.

Rules (from Postfix's and Exim's documentation):
- Postfix: a message starts at smtpd `client=`, pickup `uid=`, or a cleanup
  `message-id=` not preceded by its client (or by another `message-id=`: a
  message with two Message-ID headers logs both); it ends at qmgr `removed`
  (queue ids are reused afterwards). qmgr `status=expired` expires the
  recipients still deferred. A message that never reached qmgr (no
  `from=... size=`) was never queued and has no journey.
- Exim: a message starts at `<=`, ends at `Completed`.
- Per recipient: the last status decides (sent -> delivered); deferrals
  "delivery temporarily suspended" / "retry time not reached" are deferrals
  but not attempts. Address-verification probes are not journeys.
"""
import json
import re
import sys

PF = re.compile(r"postfix(?:-[\w.]+)?/(?:[\w.-]+/)?([\w-]+)\[\d+\]: ([0-9A-Za-z]{5,}): (.*)$")
EX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [-+]\d{4})? (?:\[\d+\] )?(\w{6}-\w{6,11}-\w{2,4}) (.*)$")
EX_SYSLOG = re.compile(r"exim\[\d+\]: (\w{6}-\w{6,11}-\w{2,4}) (.*)$")
TO = re.compile(r"^to=<?([^>,]*)>?,.*, status=([\w-]+)( \((.*)\))?")
STATUSES = {"sent", "deferred", "bounced", "expired", "SOFTBOUNCE", "force-expired"}


class Msg:
    def __init__(self, qid):
        self.qid = qid
        self.queued = False
        self.rcpts = {}  # recipient -> list of (status, attempted)
        self.order = []
        self.expired = False


def finish(m, removed, out):
    if m is None or not m.queued:
        return
    if not m.order:
        # Queued, but no attempt logged: one row for the message.
        out.append({
            "queue_id": m.qid,
            "recipient": "",
            "disposition": "expired" if m.expired else "removed" if removed else "pending",
            "attempts": 0,
            "deferrals": 0,
        })
    for r in m.order:
        hist = m.rcpts[r]
        last = hist[-1][0]
        if last == "sent":
            d = "delivered"
        elif last == "bounced":
            d = "bounced"
        elif last == "expired":
            d = "expired"
        elif m.expired:
            d = "expired"
        elif removed:
            d = "removed"
        else:
            d = "pending"
        out.append({
            "queue_id": m.qid,
            "recipient": r,
            "disposition": d,
            "attempts": sum(1 for s, tried in hist if tried),
            "deferrals": sum(1 for s, _ in hist if s == "deferred"),
        })


def postfix(lines, out):
    cur = {}
    last_kind = {}
    for line in lines:
        m = PF.search(line)
        if not m:
            continue
        svc, qid, rest = m.groups()
        msg = cur.get(qid)
        start = False
        if svc == "smtpd" and rest.startswith("client="):
            start = True
        elif svc == "pickup" and rest.startswith("uid="):
            start = True
        elif svc == "cleanup" and rest.startswith("message-id="):
            # A second Message-ID header of the same message is logged too.
            start = last_kind.get(qid) not in ("client", "arrive")
        if start or (msg is not None and last_kind.get(qid) == "removed"):
            if msg is not None and last_kind.get(qid) != "removed":
                finish(msg, True, out)  # abandoned or ended: superseded
            msg = cur[qid] = Msg(qid)
        if msg is None:
            msg = cur[qid] = Msg(qid)
        arrival = svc == "cleanup" and rest.startswith("message-id=")
        last_kind[qid] = "arrive" if arrival else "client" if start else "other"
        if rest.startswith("from=<") and ", size=" in rest:
            msg.queued = True
        elif rest.startswith("from=<") and "status=expired" in rest or "status=force-expired" in rest:
            msg.expired = True
            msg.queued = True
        elif rest == "removed":
            finish(msg, True, out)
            last_kind[qid] = "removed"
            cur[qid] = None
        elif rest.startswith("to="):
            t = TO.match(rest)
            if not t:
                continue
            rcpt, status, _, text = t.groups()
            if status not in STATUSES:
                continue  # verification probes, or not a status at all
            status = {"SOFTBOUNCE": "deferred", "force-expired": "expired"}.get(status, status)
            tried = not (text or "").startswith("delivery temporarily suspended")
            msg.queued = True
            if rcpt not in msg.rcpts:
                msg.rcpts[rcpt] = []
                msg.order.append(rcpt)
            msg.rcpts[rcpt].append((status, tried))
    for qid, msg in cur.items():
        finish(msg, last_kind.get(qid) == "removed", out)


def exim(lines, out):
    cur = {}
    for line in lines:
        m = EX.match(line) or EX_SYSLOG.search(line)
        if not m:
            continue
        mid, rest = m.groups()
        if rest.startswith("<= "):
            msg = cur[mid] = Msg(mid)
            msg.queued = True
            continue
        msg = cur.get(mid)
        if rest == "Completed":
            finish(msg, True, out)
            cur.pop(mid, None)
            continue
        flag = rest[:3]
        if flag not in ("=> ", "-> ", "** ", "== "):
            continue
        if msg is None:
            msg = cur[mid] = Msg(mid)
            msg.queued = True
        body = rest[3:]
        words = body.split(" ")
        first = words[0][:-1] if words[0].endswith(":") and words[0] != ":blackhole:" else words[0]
        angle = next((w.strip("<>:") for w in words[1:4] if w.startswith("<")), "")
        # A real address first, else the original `<address>` of file, pipe
        # and local-user deliveries (Exim's spec, "Log line flags").
        if "@" in first and first[0] not in "/|:":
            rcpt = first
        elif angle:
            rcpt = angle
        else:
            rcpt = first
        tried = "retry time not reached" not in body
        # Exim's retry rules gave up: "retry timeout exceeded", or "all hosts
        # ... have been failing for a long time" (past the retry cutoff).
        if flag == "** " and ("retry timeout exceeded" in body
                              or "have been failing for a long time" in body):
            status = "expired"
        else:
            status = {"=> ": "sent", "-> ": "sent", "** ": "bounced", "== ": "deferred"}[flag]
        if rcpt not in msg.rcpts:
            msg.rcpts[rcpt] = []
            msg.order.append(rcpt)
        msg.rcpts[rcpt].append((status, tried))
    for msg in cur.values():
        finish(msg, False, out)


def main():
    lines = []
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines.extend(l.rstrip("\r\n") for l in f)
    out = []
    if any(EX.match(l) or EX_SYSLOG.search(l) for l in lines[:2000]):
        exim(lines, out)
    else:
        postfix(lines, out)
    for o in out:
        print(json.dumps(o))


if __name__ == "__main__":
    main()
