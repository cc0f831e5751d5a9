#!/usr/bin/env python3
"""Deterministic generator for mtastat's testdata/ logs.

Writes Postfix (classic syslog and rsyslog ISO) and Exim mainlog files that
look like a small outbound relay's day: smtpd/cleanup/qmgr chatter, deliveries
across providers with realistic reply texts, deferrals that later succeed or
expire, local deliveries, relay=none connection failures, a throttling storm
at Gmail and a Spamhaus listing at Outlook. Same seed, same bytes.

    scripts/gen-testdata.py [--seed N] [--messages N] [--out DIR] [--healthy | --overlap | --auth | --tls]

--tls writes testdata/tls/: relay mx2's day (Postfix mail.log, Exim
mail.mainlog) with TLS logged (Postfix smtp_tls_loglevel = 1, several smtp
and smtpd processes at once): every provider over TLS, bank.example on
TLSv1, gmx.de never TLS, initech.example's backup MX in clear text all day;
from 15:30 Microsoft's MX present certificates that do not verify, from
18:05 Google is reached in clear text (STARTTLS stripped); (times UTC) app servers
submit over TLS, a printer in clear, laptops after SASL login over TLS and
the scanner account without TLS; app2 stops using TLS at 16:00.
healthy.log/healthy.mainlog: the same day without the incidents.

--auth writes testdata/auth/: a submission server's day (Postfix mail.log,
Exim mail.mainlog) with SASL users, a password spray from 203.0.113.66
(10:12-10:52), credential stuffing from 192.0.2.77/78 that logs in as user07
at 13:41, user07's burst from six networks 13:45-14:45, and an authentication
backend down at 15:00 (not an attack); healthy.log/healthy.mainlog the same
users on the same day without the attacks.

--healthy writes testdata/healthy/mail.log and exim/mainlog instead: the same
relay on a good day (no storm, no listing, no unauthenticated sender, no dead
or misspelt domains, background failure rates of a clean list), which must
give no warning or critical finding.

--overlap writes testdata/overlap/mail.log and mainlog: Gmail's storm from
09:00 to 09:30 and Outlook's Spamhaus listing from 09:04 to 09:40 overlap,
while Yahoo defers 15 % with [TSS04] all day; the Exim log has per-host
errors from Gmail's primary MX during the storm, some followed by a delivery
through the next MX in the same attempt.

Also writes testdata/edge/hostile.log: CRLF endings, invalid UTF-8, ANSI
escapes, NUL bytes, a truncated last line, and CSV-formula domains.
"""

import argparse
import os
import random

PROVIDERS = {
    # domain: (weight, mx host, ip, profile)
    "gmail.com": (30, "gmail-smtp-in.l.google.com", "142.250.102.26", "gmail"),
    "googlemail.com": (1, "gmail-smtp-in.l.google.com", "142.250.102.27", "gmail"),
    "example-corp.com": (3, "aspmx.l.google.com", "142.250.27.26", "gmail"),
    "outlook.com": (6, "outlook-com.olc.protection.outlook.com", "52.101.68.2", "outlook"),
    "hotmail.com": (7, "hotmail-com.olc.protection.outlook.com", "52.101.68.3", "outlook"),
    "contoso.com": (3, "contoso-com.mail.protection.outlook.com", "52.101.41.4", "m365"),
    "yahoo.com": (10, "mta5.am0.yahoodns.net", "67.195.204.72", "yahoo"),
    "aol.com": (3, "mx-aol.mail.gm0.yahoodns.net", "67.195.204.79", "yahoo"),
    "icloud.com": (5, "mx01.mail.icloud.com", "17.57.155.34", "icloud"),
    "gmx.de": (2, "mx00.gmx.net", "212.227.17.5", "generic"),
    "initech.example": (3, "mail.initech.example", "192.0.2.50", "generic"),
    "bank.example": (1, "mx0a-001.pphosted.com", "148.163.156.1", "generic"),
    "oldcompany.example": (1, "mail.oldcompany.example", "192.0.2.62", "refused"),
    "gmial.com": (1, None, None, "nxdomain"),
}

LOCAL_DOMAIN = "relay.example"
SENDERS = ["news@shop.example", "billing@saas.example", "alerts@relay.example",
           "offers@promo-blast.example"]

FIRST = ["james", "mary", "li", "sofia", "noah", "emma", "lucas", "mia", "omar", "ana",
         "yuki", "ivan", "chloe", "raj", "lena"]
LAST = ["smith", "garcia", "chen", "muller", "rossi", "khan", "silva", "kim", "novak"]

T0 = 1795348800  # 2026-11-22 08:00:00 UTC

# --healthy: background failure rates are scaled down and incidents are off.
SCALE = 1.0
INCIDENTS = True
# Incident windows, seconds after T0: Gmail's rate-limit storm, Outlook's
# Spamhaus listing, Yahoo's [TSS04] limit (and how often it defers then).
# --overlap moves them so that two incidents overlap while Yahoo is limited
# all day.
WINDOWS = {"storm": (3 * 3600, 4 * 3600), "listed": (6 * 3600, 7 * 3600),
           "busy": (2 * 3600, 2 * 3600 + 1800)}
YAHOO_BUSY_RATE = 0.5
# --overlap: Exim logs per-host errors (the primary MX refusing during the
# storm) before the next MX is tried, and some recipients are then delivered
# by the next MX in the same attempt.
MX_ERRORS = False


def p(x):
    return x * SCALE


def gmail_reply(rng, rcpt, sender, storm):
    if rng.random() < p(0.03):
        return ("bounced", "5.1.1", "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser %s - gsmtp" % gid(rng), "RCPT TO")
    if sender.endswith("promo-blast.example"):
        return ("bounced", "5.7.26", "550-5.7.26 This mail has been blocked because the sender is unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM. 550 5.7.26  https://support.google.com/mail/answer/81126#authentication %s - gsmtp" % gid(rng), "end of DATA")
    if rng.random() < (0.4 if storm else p(0.03)):
        code = "4.7.28" if rng.random() < 0.5 else "4.7.0"
        return ("deferred", code, "421-%s [198.51.100.23      15] Our system has detected an unusual rate of 421-%s unsolicited mail originating from your IP address. To protect our 421-%s users from spam, mail sent from your IP address has been temporarily 421 %s rate limited. https://support.google.com/mail/?p=UnsolicitedRateLimitError %s - gsmtp" % (code, code, code, code, gid(rng)), "end of DATA")
    return ("sent", "2.0.0", "250 2.0.0 OK  %d %s - gsmtp" % (rng.randrange(10**9, 2 * 10**9), gid(rng)), None)


def gid(rng):
    return "%013x-%011xsi%07d%s.%d" % (rng.getrandbits(52), rng.getrandbits(44), rng.randrange(10**7), "abc"[rng.randrange(3)] * 3, rng.randrange(999))


def outlook_reply(rng, rcpt, sender, listed):
    if listed and rng.random() < 0.7:
        return ("bounced", "5.7.1", "550 5.7.1 Service unavailable, Client host [198.51.100.23] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/198.51.100.23 (AS3130). [%s.namprd12.prod.outlook.com 2026-11-22T12:46:02.700Z %016X]" % (msid(rng), rng.getrandbits(64)), "RCPT TO")
    if rng.random() < p(0.04):
        return ("bounced", "5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [%s.namprd03.prod.outlook.com]" % msid(rng), "RCPT TO")
    if rng.random() < p(0.05):
        return ("deferred", "4.7.650", "451 4.7.650 The mail server [198.51.100.23] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)", "MAIL FROM")
    return ("sent", "2.6.0", "250 2.6.0 <%d@shop.example> [InternalId=%d, Hostname=%s.eurprd04.prod.outlook.com] Queued mail for delivery" % (rng.getrandbits(40), rng.getrandbits(40), msid(rng)), None)


def msid(rng):
    return "%s%d%s%05d" % ("".join(rng.choice("ABCDEFGHJKLMNPQRSTVWXYZ") for _ in range(2)), rng.randrange(10), "PEPF0000", rng.randrange(10**5))


def m365_reply(rng, rcpt, sender, listed):
    if rng.random() < p(0.06):
        return ("bounced", "5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [%s.eurprd04.prod.protection.outlook.com]" % msid(rng), "RCPT TO")
    return outlook_reply(rng, rcpt, sender, False)


def yahoo_reply(rng, rcpt, sender, busy):
    if rng.random() < (YAHOO_BUSY_RATE if busy else p(0.03)):
        return ("deferred", "4.7.0", "421 4.7.0 [TSS04] Messages from 198.51.100.23 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "end of DATA")
    if rng.random() < p(0.05):
        return ("bounced", "5.0.0", "554 delivery error: dd This user doesn't have a yahoo.com account (%s) [0] - mta4272.mail.ne1.yahoo.com" % rcpt, "end of DATA")
    if sender.endswith("promo-blast.example") and rng.random() < 0.5:
        return ("bounced", "5.7.9", "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes", "end of DATA")
    return ("sent", "2.0.0", "250 ok dirdel", None)


def icloud_reply(rng, rcpt, sender):
    if rng.random() < p(0.04):
        return ("bounced", "5.1.1", "550 5.1.1 <%s>: user does not exist" % rcpt, "RCPT TO")
    if rng.random() < p(0.01):
        return ("deferred", "4.2.2", "452 4.2.2 <%s>: mailbox is full" % rcpt, "RCPT TO")
    return ("sent", "2.0.0", "250 2.0.0 OK: queued as %012X" % rng.getrandbits(48), None)


def generic_reply(rng, rcpt, sender):
    r = rng.random()
    if r < p(0.05):
        return ("bounced", "5.1.1", "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table" % rcpt, "RCPT TO")
    if r < p(0.06):
        return ("bounced", "5.7.1", "554 5.7.1 Service unavailable; Client host [198.51.100.23] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.23", "RCPT TO")
    if r < p(0.08):
        return ("deferred", "4.3.0", "451 4.3.0 Temporary lookup failure", "RCPT TO")
    return ("sent", "2.0.0", "250 2.0.0 Ok: queued as %010X" % rng.getrandbits(40), None)


def outcome(rng, domain, sender, t):
    profile = PROVIDERS[domain][3]
    def inside(name):
        a, b = WINDOWS[name]
        return INCIDENTS and T0 + a <= t < T0 + b
    rcpt_storm = inside("storm")
    listed = inside("listed")
    busy = inside("busy")
    rcpt = None
    if profile == "gmail":
        return gmail_reply(rng, rcpt, sender, rcpt_storm)
    if profile == "outlook":
        return outlook_reply(rng, rcpt, sender, listed)
    if profile == "m365":
        return m365_reply(rng, rcpt, sender, listed)
    if profile == "yahoo":
        return yahoo_reply(rng, rcpt, sender, busy)
    if profile == "icloud":
        return icloud_reply(rng, rcpt, sender)
    return generic_reply(rng, rcpt, sender)


def pick_domain(rng):
    names = [d for d in PROVIDERS if INCIDENTS or PROVIDERS[d][3] not in ("refused", "nxdomain")]
    weights = [PROVIDERS[d][0] for d in names]
    return rng.choices(names, weights)[0]


def mon_day(t):
    import time
    return time.strftime("%b %e %H:%M:%S", time.gmtime(t))


def iso(t, frac):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06d+00:00" % frac


def exim_ts(t):
    import time
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def simulate(rng, n_messages):
    """Yields (t, kind, fields) events; kind in ('msg', 'try', 'expire', 'local')."""
    events = []
    expired = set()
    t = T0
    for i in range(n_messages):
        t += rng.randrange(1, 20)
        sender = rng.choices(SENDERS, [5, 3, 1, 1 if INCIDENTS else 0])[0]
        nrcpt = 1 if rng.random() < 0.8 else rng.randrange(2, 4)
        rcpts = []
        for _ in range(nrcpt):
            if rng.random() < 0.05:
                rcpts.append("%s@%s" % (rng.choice(["root", "postmaster", "hr"]), LOCAL_DOMAIN))
            else:
                d = pick_domain(rng)
                rcpts.append("%s.%s%s@%s" % (rng.choice(FIRST), rng.choice(LAST), rng.choice(["", str(rng.randrange(99))]), d))
        events.append((t, "msg", {"id": i, "sender": sender, "rcpts": rcpts, "n": len(rcpts)}))
        for rcpt in rcpts:
            domain = rcpt.split("@")[1]
            tt = t + 1
            tries = 0
            while True:
                tries += 1
                if domain == LOCAL_DOMAIN:
                    events.append((tt, "local", {"id": i, "rcpt": rcpt}))
                    break
                prof = PROVIDERS[domain][3]
                if prof == "nxdomain":
                    events.append((tt, "try", {"id": i, "rcpt": rcpt, "status": "bounced", "dsn": "5.4.4", "relay": None, "text": "Host or domain name not found. Name service error for name=%s type=A: Host not found" % domain}))
                    break
                if prof == "refused":
                    events.append((tt, "try", {"id": i, "rcpt": rcpt, "status": "deferred", "dsn": "4.4.1", "relay": None, "text": "connect to %s[%s]:25: Connection refused" % (PROVIDERS[domain][1], PROVIDERS[domain][2])}))
                else:
                    status, dsn, text, cmd = outcome(rng, domain, sender, tt)
                    text = text.replace("None", rcpt)
                    events.append((tt, "try", {"id": i, "rcpt": rcpt, "status": status, "dsn": dsn, "relay": (PROVIDERS[domain][1], PROVIDERS[domain][2]), "text": text, "cmd": cmd}))
                    if status != "deferred":
                        break
                if tries >= 5:
                    # Postfix expires a message once, not once per recipient.
                    if i not in expired:
                        expired.add(i)
                        events.append((tt + 60, "expire", {"id": i, "sender": sender, "rcpt": rcpt}))
                    break
                tt += rng.randrange(600, 1800)
    events.sort(key=lambda e: (e[0], e[2]["id"]))
    return events


def postfix_lines(rng, events, stamp):
    qids = {}
    single = {f["id"]: f["n"] == 1 for _, k, f in events if k == "msg"}
    pid = 1000
    for t, kind, f in events:
        q = qids.setdefault(f["id"], "%010X" % rng.getrandbits(40))
        ts = stamp(t, rng)
        if kind == "msg":
            ip = "10.0.%d.%d" % (rng.randrange(255), rng.randrange(1, 255))
            yield "%s mx1 postfix/smtpd[%d]: connect from app%02d.relay.example[%s]" % (ts, pid, rng.randrange(9), ip)
            yield "%s mx1 postfix/smtpd[%d]: %s: client=app.relay.example[%s]" % (ts, pid, q, ip)
            yield "%s mx1 postfix/cleanup[%d]: %s: message-id=<%d.%d@relay.example>" % (ts, pid + 1, q, t, f["id"])
            yield "%s mx1 postfix/qmgr[900]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (ts, q, f["sender"], rng.randrange(2000, 90000), len(f["rcpts"]))
            yield "%s mx1 postfix/smtpd[%d]: disconnect from app.relay.example[%s] ehlo=2 starttls=1 mail=1 rcpt=%d data=1 quit=1 commands=7" % (ts, pid, ip, len(f["rcpts"]))
            pid += 2
        elif kind == "local":
            yield "%s mx1 postfix/local[%d]: %s: to=<root@%s>, orig_to=<%s>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)" % (ts, pid, q, LOCAL_DOMAIN, f["rcpt"])
        elif kind == "try":
            delay = "%.2g" % rng.uniform(0.1, 3)
            relay = "none" if f["relay"] is None else "%s[%s]:25" % f["relay"]
            text = f["text"]
            if f["relay"] is not None and f["status"] != "sent":
                text = "host %s[%s] said: %s (in reply to %s command)" % (f["relay"][0], f["relay"][1], text, f["cmd"])
            yield "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=%s, delay=%s, delays=0.01/0/0.1/%s, dsn=%s, status=%s (%s)" % (ts, pid, q, f["rcpt"], relay, delay, delay, f["dsn"], f["status"], text)
            if f["status"] in ("sent", "bounced") and single.get(f["id"]):
                yield "%s mx1 postfix/qmgr[900]: %s: removed" % (ts, q)
        elif kind == "expire":
            yield "%s mx1 postfix/qmgr[900]: %s: from=<%s>, status=expired, returned to sender" % (ts, q, f["sender"])


def exim_lines(rng, events):
    ids = {}
    for t, kind, f in events:
        m = ids.setdefault(f["id"], "1x%s-%s-%s" % ("".join(rng.choice(B62) for _ in range(4)), "".join(rng.choice(B62) for _ in range(6)), "".join(rng.choice(B62) for _ in range(2))))
        ts = exim_ts(t)
        if kind == "msg":
            yield "%s %s <= %s H=(app.relay.example) [10.0.0.5] P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S=%d id=%d.%d@relay.example" % (ts, m, f["sender"], rng.randrange(2000, 90000), t, f["id"])
        elif kind == "local":
            yield "%s %s => root <%s> R=local_user T=local_delivery" % (ts, m, f["rcpt"])
        elif kind == "try":
            if f["relay"] is None:
                if f["status"] == "bounced":
                    yield "%s %s ** %s: Unrouteable address" % (ts, m, f["rcpt"])
                else:
                    yield "%s %s == %s R=dnslookup T=remote_smtp defer (111): Connection refused" % (ts, m, f["rcpt"])
                continue
            host, ip = f["relay"]
            text = f["text"].replace(" 550-", "\\n550-").replace(" 421-", "\\n421-").replace(" 550 ", "\\n550 ").replace(" 421 ", "\\n421 ")
            a, b = WINDOWS["storm"]
            if MX_ERRORS and host.startswith("gmail-smtp-in") and T0 + a <= t < T0 + b and (f["status"] != "sent" or rng.random() < 0.5):
                # The primary MX refuses; Exim logs it and tries alt1, which
                # accepts (=>) or refuses too (==, the recipient's deferral).
                refusal = "421-4.7.0 [198.51.100.23      15] Our system has detected an unusual rate of\\n421 4.7.0 unsolicited mail originating from your IP address. %s - gsmtp" % gid(rng)
                yield "%s %s H=%s [%s]: SMTP error from remote mail server after end of data: %s" % (ts, m, host, ip, refusal)
                host, ip = "alt1." + host, ip[:-1] + "7"
            if f["status"] == "sent":
                yield '%s %s => %s R=dnslookup T=remote_smtp H=%s [%s] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C="%s"' % (ts, m, f["rcpt"], host, ip, text)
            elif f["status"] == "bounced":
                yield "%s %s ** %s R=dnslookup T=remote_smtp H=%s [%s] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes: SMTP error from remote mail server after %s: %s" % (ts, m, f["rcpt"], host, ip, cmd_exim(f["cmd"], f["rcpt"]), text)
            else:
                yield "%s %s == %s R=dnslookup T=remote_smtp defer (-44) H=%s [%s]: SMTP error from remote mail server after %s: %s" % (ts, m, f["rcpt"], host, ip, cmd_exim(f["cmd"], f["rcpt"]), text)
        elif kind == "expire":
            yield "%s %s ** %s: retry timeout exceeded" % (ts, m, f["rcpt"])


def cmd_exim(cmd, rcpt):
    return {"RCPT TO": "RCPT TO:<%s>" % rcpt, "MAIL FROM": "MAIL FROM:<news@shop.example>", "end of DATA": "end of data"}.get(cmd, "end of data")


def write(path, lines, newline="\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        for line in lines:
            f.write(line + newline)


def hostile(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    base = "Nov 22 12:00:%02d mx1 postfix/smtp[7]: %s: to=<%s>, relay=mx.x.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=%s, status=%s (%s)"
    rows = [
        (base % (1, "AAAAAA0001", "crlf@gmail.com", "2.0.0", "sent", "250 ok")).encode() + b"\r\n",
        (base % (2, "AAAAAA0002", "esc@yahoo.com", "5.1.1", "bounced", "host x said: 550 5.1.1 \x1b[31mRED\x1b[0m \x1b]0;pwned\x07 user unknown (in reply to RCPT TO command)")).encode() + b"\n",
        (base % (3, "AAAAAA0003", "x@=cmd.example", "5.1.1", "bounced", "host x said: 550 5.1.1 <script>alert(1)</script> (in reply to RCPT TO command)")).encode() + b"\n",
        b"Nov 22 12:00:04 mx1 postfix/smtp[7]: AAAAAA0004: to=<bad\xff\xfe@hotmail.com>, relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (connect to mx[192.0.2.9]:25: Connection timed out \xc3\x28)\n",
        b"\x00\x00\x00 binary junk \x89PNG\r\n\x1a\n",
        b"Nov 22 12:00:05 mx1 postfix/smtp[7]: AAAAAA0005: to=<rtl@outlook.com>, relay=none, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (\xe2\x80\xaeevil bidi text)\n",
        b"\n",
        b"2026-11-22 12:00:06 1xV6qi-0004PA-2t ** nul\x00byte@gmail.com: Unrouteable address\n",
        b"Nov 22 12:00:07 mx1 postfix/smtp[7]: AAAAAA0007: to=<trunc@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, dsn=2.0.0, stat",
    ]
    with open(path, "wb") as f:
        f.write(b"".join(rows))


def retries(path):
    """One message to a mistyped domain retried 66 times, two Gmail messages
    tried 18 times each, among a quiet day's deliveries: a finding about a
    message, not an outbreak (issue 15 item 3)."""
    rng = random.Random(15)
    lines = []
    t = T0
    for i in range(300):
        t += 60
        domain = ["gmail.com", "outlook.com", "yahoo.com", "initech.example"][i % 4]
        host, ip = {"gmail.com": ("gmail-smtp-in.l.google.com", "142.250.102.26"),
                    "outlook.com": ("outlook-com.olc.protection.outlook.com", "52.101.68.2"),
                    "yahoo.com": ("mta5.am0.yahoodns.net", "67.195.204.72"),
                    "initech.example": ("mail.initech.example", "192.0.2.50")}[domain]
        q = "%010X" % rng.getrandbits(40)
        lines.append((t, "%s mx1 postfix/qmgr[900]: %s: from=<news@shop.example>, size=4000, nrcpt=1 (queue active)" % (mon_day(t), q)))
        lines.append((t + 1, "%s mx1 postfix/smtp[%d]: %s: to=<u%d@%s>, relay=%s[%s]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)" % (mon_day(t + 1), 2000 + i, q, i, domain, host, ip)))
    typo = "0A1B2C3D4E"
    lines.append((T0 + 5, "%s mx1 postfix/qmgr[900]: %s: from=<billing@saas.example>, size=4000, nrcpt=1 (queue active)" % (mon_day(T0 + 5), typo)))
    for k in range(66):
        tt = T0 + 10 + k * 270
        lines.append((tt, "%s mx1 postfix/smtp[%d]: %s: to=<carol@initech-corp.example>, relay=none, delay=%d, delays=%d/0/30/0, dsn=4.4.1, status=deferred (connect to mail.initech-corp.example[192.0.2.77]:25: Connection timed out)" % (mon_day(tt), 3000 + k, typo, tt - T0, tt - T0 - 30)))
        if k + 1 < 66:
            lines.append((tt + 240, "%s mx1 postfix/qmgr[900]: %s: from=<billing@saas.example>, size=4000, nrcpt=1 (queue active)" % (mon_day(tt + 240), typo)))
    for m, (q, who) in enumerate([("1B2C3D4E5F", "dave"), ("2C3D4E5F6A", "erin")]):
        for k in range(18):
            tt = T0 + 30 + m * 7 + k * 900
            lines.append((tt, "%s mx1 postfix/qmgr[900]: %s: from=<news@shop.example>, size=4000, nrcpt=1 (queue active)" % (mon_day(tt), q)))
            lines.append((tt + 30, "%s mx1 postfix/smtp[%d]: %s: to=<%s@gmail.com>, relay=none, delay=%d, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to gmail-smtp-in.l.google.com[142.250.102.26]:25: Connection timed out)" % (mon_day(tt + 30), 4000 + k, q, who, tt + 30 - T0)))
    lines.sort(key=lambda x: x[0])
    write(path, (l for _, l in lines))


def handoff(path):
    """A Postfix server passing every message through amavis on
    127.0.0.1:10024, which re-injects it on 127.0.0.1:10025 (`queued as`):
    Gmail bounces the unauthenticated sender, other mail is delivered, the
    filter refuses connections from 12:30 to 12:50, and a few of its replies
    name no new queue id (issue 15 item 1)."""
    rng = random.Random(1501)
    lines = []
    pid = 5000
    t = T0
    for i in range(240):
        t += 15
        pid += 7
        domain = ["gmail.com", "outlook.com", "yahoo.com", "gmail.com"][i % 4]
        sender = "offers@promo-blast.example" if i % 8 == 0 else "news@shop.example"
        rcpt = "u%d@%s" % (i, domain)
        q1, q2 = "%010X" % rng.getrandbits(40), "%010X" % rng.getrandbits(40)
        host, ip = {"gmail.com": ("gmail-smtp-in.l.google.com", "142.250.102.26"),
                    "outlook.com": ("outlook-com.olc.protection.outlook.com", "52.101.68.2"),
                    "yahoo.com": ("mta5.am0.yahoodns.net", "67.195.204.72")}[domain]
        ts = lambda x: mon_day(x)
        lines.append((t, "%s mx1 postfix/smtpd[%d]: %s: client=app.relay.example[10.0.0.5]" % (ts(t), pid, q1)))
        lines.append((t, "%s mx1 postfix/cleanup[%d]: %s: message-id=<%d@shop.example>" % (ts(t), pid + 1, q1, i)))
        lines.append((t, "%s mx1 postfix/qmgr[900]: %s: from=<%s>, size=4000, nrcpt=1 (queue active)" % (ts(t), q1, sender)))
        tt = t + 1
        # The filter refuses connections from 12:30 to 12:50: deferred,
        # then handed over at the next queue run once it is back.
        while T0 + 1800 <= tt < T0 + 3000:
            lines.append((tt, "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=none, delay=%d, delays=%d/0/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:10024: Connection refused)" % (ts(tt), pid + 2, q1, rcpt, tt - t, tt - t)))
            tt += 300
            lines.append((tt - 1, "%s mx1 postfix/qmgr[900]: %s: from=<%s>, size=4000, nrcpt=1 (queue active)" % (ts(tt - 1), q1, sender)))
        named = i % 20 != 7
        queued = ": queued as %s" % q2 if named else ""
        if i % 20 == 13:
            # amavis discarding a virus: its own id, no message queued.
            named, queued = False, ", discarded, id=01626-%02d - INFECTED: Eicar-Test-Signature" % (i % 100)
        handoff = [(tt, "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:10024, delay=%d, delays=%d/0/0/0.8, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok%s)" % (ts(tt), pid + 2, q1, rcpt, tt - t, tt - t, queued)),
                   (tt, "%s mx1 postfix/qmgr[900]: %s: removed" % (ts(tt), q1))]
        if not named:
            lines.extend(handoff)
            continue
        again = [(tt, "%s mx1 postfix/10025/smtpd[%d]: %s: client=localhost[127.0.0.1]" % (ts(tt), pid + 3, q2)),
                 (tt, "%s mx1 postfix/cleanup[%d]: %s: message-id=<%d@shop.example>" % (ts(tt), pid + 1, q2, i)),
                 (tt, "%s mx1 postfix/qmgr[900]: %s: from=<%s>, size=4600, nrcpt=1 (queue active)" % (ts(tt), q2, sender))]
        # Every other message the way amavis logs it: the re-injected copy
        # is queued (and for local mail delivered) before the filter answers.
        first = i % 2 == 1
        t3 = tt if first else tt + 2
        if domain == "gmail.com" and sender.startswith("offers@"):
            again.append((t3, "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=2, delays=0/0/1/1, dsn=5.7.26, status=bounced (host %s[%s] said: 550-5.7.26 This mail has been blocked because the sender is unauthenticated. 550 5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM. - gsmtp (in reply to end of DATA command))" % (ts(t3), pid + 4, q2, rcpt, host, ip, host, ip)))
        else:
            again.append((t3, "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 OK)" % (ts(t3), pid + 4, q2, rcpt, host, ip)))
        again.append((t3, "%s mx1 postfix/qmgr[900]: %s: removed" % (ts(t3), q2)))
        lines.extend(again + handoff if first else handoff + again)
    lines.sort(key=lambda x: x[0])
    write(path, (l for _, l in lines))


# --auth: a submission server's day. SASL users submit from home and phone,
# a few mistype their password; attacks come on top unless healthy.
AUTH_USERS = ["user%02d" % i for i in range(1, 21)]
BRUTE_IP = "203.0.113.66"          # a spray over 60 names, 10:12-10:52
STUFFER_IPS = ["192.0.2.77", "192.0.2.78"]  # 13:30-13:41, then logs in as user07
STOLEN = "user07"
BURST_IPS = ["192.0.2.77", "192.0.2.78", "45.155.205.3", "185.220.101.4", "91.92.109.6", "103.76.11.8"]
SPRAY_NAMES = ["admin", "info", "test", "sales", "office", "support", "webmaster", "postmaster",
               "contact", "marketing", "hr", "billing", "noreply", "mail", "user", "guest"] + \
              ["%s%d" % (n, k) for n in ("admin", "test", "info") for k in range(1, 15)] + AUTH_USERS[:2]


def auth_events(rng, healthy):
    """Yields (t, kind, fields) like simulate(), plus 'authfail' and 'login' kinds."""
    events = []
    msg_id = [0]

    def deliver(t, user, ip, rcpts, burst=False):
        i = msg_id[0]
        msg_id[0] += 1
        sender = "%s@%s" % (user, LOCAL_DOMAIN)
        events.append((t, "msg", {"id": i, "sender": sender, "rcpts": rcpts, "n": len(rcpts), "user": user, "ip": ip}))
        for rcpt in rcpts:
            domain = rcpt.split("@")[1]
            tt = t + 1
            for _ in range(4):
                if burst and domain not in PROVIDERS:
                    if rng.random() < 0.45:
                        r = ("bounced", "5.1.1", "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table" % rcpt, "RCPT TO")
                    elif rng.random() < 0.3:
                        r = ("deferred", "4.7.1", "450 4.7.1 Client host rejected: cannot find your reverse hostname", "RCPT TO")
                    else:
                        r = ("sent", "2.0.0", "250 2.0.0 Ok: queued as %X" % rng.getrandbits(40), None)
                    relay = ("mx.%s" % domain, "192.0.2.%d" % rng.randrange(100, 200))
                elif burst and PROVIDERS[domain][3] == "gmail":
                    r = ("bounced", "5.7.1", "550-5.7.1 [198.51.100.23] Our system has detected that this message is 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail, 550 5.7.1 this message has been blocked. %s - gsmtp" % gid(rng), "end of DATA")
                    relay = PROVIDERS[domain][1:3]
                else:
                    r = outcome(rng, domain, sender, tt)
                    relay = PROVIDERS[domain][1:3]
                status, dsn, text, cmd = r
                events.append((tt, "try", {"id": i, "rcpt": rcpt, "status": status, "dsn": dsn, "relay": relay, "text": text.replace("None", rcpt), "cmd": cmd}))
                if status != "deferred":
                    break
                tt += rng.randrange(600, 1800)

    def person(rng):
        return "%s.%s%s@%s" % (rng.choice(FIRST), rng.choice(LAST), rng.choice(["", str(rng.randrange(99))]), pick_domain(rng))

    for k, user in enumerate(AUTH_USERS):
        home, phone = "198.18.%d.10" % (k + 1), "198.19.%d.%d" % (k + 1, 20 + k)
        rate = rng.uniform(1.5, 5)  # messages per hour
        t = T0 + rng.randrange(0, 1800)
        while t < T0 + 12 * 3600:
            ip = home if rng.random() < 0.8 else phone
            if rng.random() < 0.03:
                # A mistyped password, then the right one.
                events.append((t - 5, "authfail", {"id": -1, "ip": ip, "user": user, "why": "authentication failure"}))
            rcpts = [person(rng) for _ in range(1 if rng.random() < 0.85 else rng.randrange(2, 4))]
            deliver(t, user, ip, rcpts)
            t += int(rng.expovariate(rate / 3600.0)) + 30
    if not healthy:
        # A spray from one address over many names (some with no name logged).
        t = T0 + 2 * 3600 + 12 * 60
        while t < T0 + 2 * 3600 + 52 * 60:
            name = rng.choice(SPRAY_NAMES) + "@" + LOCAL_DOMAIN
            events.append((t, "authfail", {"id": -1, "ip": BRUTE_IP, "user": name if rng.random() < 0.9 else "", "why": "authentication failure"}))
            t += rng.randrange(3, 9)
        # Credential stuffing: a few tries each for real users, then a hit.
        t = T0 + 5 * 3600 + 30 * 60
        for user in AUTH_USERS[:15]:
            if user == STOLEN:
                continue
            events.append((t, "authfail", {"id": -1, "ip": rng.choice(STUFFER_IPS), "user": user + "@" + LOCAL_DOMAIN, "why": "authentication failure"}))
            t += rng.randrange(20, 50)
        # The stolen account sends a burst from many networks, to domains it
        # never wrote to, much of it refused.
        t = T0 + 5 * 3600 + 45 * 60
        end = t + 3600
        while t < end:
            ip = rng.choice(BURST_IPS)
            rcpts = ["%s%d@%s" % (rng.choice(FIRST), rng.randrange(1000), rng.choice(
                ["gmail.com", "yahoo.com", "hotmail.com"] + ["%s%d.example" % (rng.choice(LAST), rng.randrange(300))] * 3))
                for _ in range(rng.randrange(1, 4))]
            deliver(t, STOLEN, ip, rcpts, burst=True)
            t += rng.randrange(3, 9)
    # The authentication backend restarts: every login fails for two minutes.
    t = T0 + 7 * 3600
    for k in range(8):
        events.append((t + k * 15, "authfail", {"id": -1, "ip": "198.18.%d.10" % (k + 1), "user": AUTH_USERS[k] + "@" + LOCAL_DOMAIN, "why": "Connection lost to authentication server"}))
    events.sort(key=lambda e: (e[0], e[2]["id"]))
    return events


def auth_postfix_lines(rng, events):
    qids = {}
    pid = 4000
    for t, kind, f in events:
        ts = mon_day(t)
        if kind == "authfail":
            name = ", sasl_username=%s" % f["user"] if f["user"] else ""
            mech = "LOGIN" if f["why"] == "authentication failure" else "PLAIN"
            why = f["why"] if f["user"] or mech != "LOGIN" else "UGFzc3dvcmQ6"
            yield "%s mx1 postfix/submission/smtpd[%d]: connect from unknown[%s]" % (ts, pid, f["ip"])
            yield "%s mx1 postfix/submission/smtpd[%d]: warning: unknown[%s]: SASL %s authentication failed: %s%s" % (ts, pid, f["ip"], mech, why, name)
            yield "%s mx1 postfix/submission/smtpd[%d]: disconnect from unknown[%s] ehlo=1 auth=0/1 quit=1 commands=2/3" % (ts, pid, f["ip"])
            pid += 1
            continue
        q = qids.setdefault(f["id"], "%010X" % rng.getrandbits(40))
        if kind == "msg":
            yield "%s mx1 postfix/submission/smtpd[%d]: connect from unknown[%s]" % (ts, pid, f["ip"])
            yield "%s mx1 postfix/submission/smtpd[%d]: %s: client=unknown[%s], sasl_method=PLAIN, sasl_username=%s@%s" % (ts, pid, q, f["ip"], f["user"], LOCAL_DOMAIN)
            yield "%s mx1 postfix/cleanup[%d]: %s: message-id=<%d.%d@relay.example>" % (ts, pid + 1, q, t, f["id"])
            yield "%s mx1 postfix/qmgr[900]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (ts, q, f["sender"], rng.randrange(2000, 90000), len(f["rcpts"]))
            yield "%s mx1 postfix/submission/smtpd[%d]: disconnect from unknown[%s] ehlo=2 starttls=1 auth=1 mail=1 rcpt=%d data=1 quit=1 commands=8" % (ts, pid, f["ip"], len(f["rcpts"]))
            pid += 2
        elif kind == "try":
            relay = "%s[%s]:25" % f["relay"]
            text = f["text"]
            if f["status"] != "sent":
                text = "host %s[%s] said: %s (in reply to %s command)" % (f["relay"][0], f["relay"][1], text, f["cmd"])
            yield "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=%s, delay=1.2, delays=0.01/0/0.1/1.1, dsn=%s, status=%s (%s)" % (ts, pid, q, f["rcpt"], relay, f["dsn"], f["status"], text)


def auth_exim_lines(rng, events):
    ids = {}
    for t, kind, f in events:
        ts = exim_ts(t)
        if kind == "authfail":
            if f["why"] == "authentication failure":
                name = " (set_id=%s)" % f["user"] if f["user"] else ""
                yield "%s dovecot_login authenticator failed for (User) [%s]: 535 Incorrect authentication data%s" % (ts, f["ip"], name)
            else:
                yield "%s dovecot_plain authenticator failed for (laptop) [%s]: 435 Unable to authenticate at present (set_id=%s)" % (ts, f["ip"], f["user"])
            continue
        m = ids.setdefault(f["id"], "1x%s-%s-%s" % ("".join(rng.choice(B62) for _ in range(4)), "".join(rng.choice(B62) for _ in range(6)), "".join(rng.choice(B62) for _ in range(2))))
        if kind == "msg":
            yield "%s %s <= %s H=(laptop) [%s] P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_plain:%s@%s S=%d id=%d.%d@relay.example" % (ts, m, f["sender"], f["ip"], f["user"], LOCAL_DOMAIN, rng.randrange(2000, 90000), t, f["id"])
        elif kind == "try":
            host, ip = f["relay"]
            if f["status"] == "sent":
                yield '%s %s => %s R=dnslookup T=remote_smtp H=%s [%s] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C="%s"' % (ts, m, f["rcpt"], host, ip, f["text"])
            elif f["status"] == "bounced":
                yield "%s %s ** %s R=dnslookup T=remote_smtp H=%s [%s]: SMTP error from remote mail server after %s: %s" % (ts, m, f["rcpt"], host, ip, cmd_exim(f["cmd"], f["rcpt"]), f["text"])
            else:
                yield "%s %s == %s R=dnslookup T=remote_smtp defer (-44) H=%s [%s]: SMTP error from remote mail server after %s: %s" % (ts, m, f["rcpt"], host, ip, cmd_exim(f["cmd"], f["rcpt"]), f["text"])


# --tls: relay mx2's day, TLS logged. Times are seconds after T0.
TLS_LOST = 3 * 3600 + 1800      # 15:30 UTC: Microsoft's certificates stop verifying
TLS_STRIPPED = 6 * 3600 + 300   # 18:05 UTC: Google in clear text
TLS_APP2_CLEAR = 4 * 3600       # 16:00 UTC: app2 stops using STARTTLS
TLS_CIPHER = "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"
TLS_SUBMITTERS = [
    # (client name, ip, SASL user or "", uses TLS)
    ("app1.relay.example", "10.0.0.5", "", True),
    ("app2.relay.example", "10.0.0.6", "", True),
    ("app3.relay.example", "10.0.0.7", "", True),
    ("printer.relay.example", "10.0.0.9", "", False),
    ("unknown", "198.18.4.10", "anna", True),
    ("unknown", "198.18.5.10", "ben", True),
    ("unknown", "198.51.100.40", "scanner", False),
]


def tls_events(rng, healthy, n_messages):
    """(t, kind, fields): 'msg' with its submitter, 'try' with the
    connection's protection (level, protocol; level None: clear text)."""
    events = []
    t = T0
    step = 12 * 3600 / n_messages
    for i in range(n_messages):
        t += rng.expovariate(1 / step)
        tt = int(t)
        name, ip, user, tls = rng.choices(TLS_SUBMITTERS, [30, 30, 30, 3, 4, 4, 2])[0]
        if not healthy and name.startswith("app2") and tt >= T0 + TLS_APP2_CLEAR:
            tls = False
        if healthy and user == "scanner":
            tls = True
        sender = "%s@%s" % (user or rng.choice(["news", "billing", "alerts"]), LOCAL_DOMAIN)
        n = 1 if rng.random() < 0.8 else rng.randrange(2, 4)
        domain = pick_domain(rng)
        rcpts = ["%s.%s%d@%s" % (rng.choice(FIRST), rng.choice(LAST), rng.randrange(99), domain) for _ in range(n)]
        events.append((tt, "msg", {"id": i, "sender": sender, "rcpts": rcpts, "n": n, "client": (name, ip), "user": user, "tls": tls}))
        mx, mxip = PROVIDERS[domain][1], PROVIDERS[domain][2]
        profile = PROVIDERS[domain][3]
        if mx is None:
            continue
        at = tt + rng.randrange(1, 4)
        for _ in range(3):
            level, proto = "Trusted", "TLSv1.3"
            host, hip = mx, mxip
            if profile == "yahoo":
                proto = "TLSv1.2"
            if domain == "bank.example":
                proto = "TLSv1"
            if domain == "gmx.de" or profile == "refused":
                level = None
            if domain == "initech.example" and rng.random() < 0.2:
                host, hip, level = "mx2.initech.example", "192.0.2.51", None
            if not healthy and profile in ("outlook", "m365") and at >= T0 + TLS_LOST:
                level = "Untrusted"
            if not healthy and profile == "gmail" and at >= T0 + TLS_STRIPPED:
                level = None
            r = outcome(rng, domain, sender, at)
            events.append((at, "try", {"id": i, "rcpts": rcpts, "status": r[0], "dsn": r[1], "text": r[2], "cmd": r[3], "relay": (host, hip), "level": level, "proto": proto}))
            if r[0] != "deferred":
                break
            at += rng.randrange(900, 2400)
    events.sort(key=lambda e: (e[0], e[2]["id"]))
    return events


class Pids:
    """A pool of processes: one connection at a time each, reused."""

    def __init__(self, rng, first):
        self.rng, self.busy, self.next = rng, {}, first

    def take(self, start, end):
        free = [p for p, until in self.busy.items() if until < start]
        pid = self.rng.choice(sorted(free)) if free and self.rng.random() < 0.9 else None
        if pid is None:
            pid, self.next = self.next, self.next + self.rng.randrange(1, 40)
        self.busy[pid] = end
        return pid


def tls_postfix_lines(rng, events):
    """Lines sorted by time; a connection's TLS line a second before its
    deliveries, so other processes' lines come between."""
    out = []
    qids = {}
    smtpd, smtp = Pids(rng, 3000), Pids(rng, 5000)
    for t, kind, f in events:
        q = qids.setdefault(f["id"], "%010X" % rng.getrandbits(40))
        if kind == "msg":
            name, ip = f["client"]
            pid = smtpd.take(t - 2, t)
            svc = "postfix/submission/smtpd" if f["user"] else "postfix/smtpd"
            out.append((t - 2, "%s mx2 %s[%d]: connect from %s[%s]" % (mon_day(t - 2), svc, pid, name, ip)))
            if f["tls"]:
                out.append((t - 2, "%s mx2 %s[%d]: Anonymous TLS connection established from %s[%s]: TLSv1.3 with cipher %s" % (mon_day(t - 2), svc, pid, name, ip, TLS_CIPHER)))
            sasl = ", sasl_method=PLAIN, sasl_username=%s" % f["user"] if f["user"] else ""
            out.append((t - 1, "%s mx2 %s[%d]: %s: client=%s[%s]%s" % (mon_day(t - 1), svc, pid, q, name, ip, sasl)))
            out.append((t - 1, "%s mx2 postfix/cleanup[%d]: %s: message-id=<%d.%d@relay.example>" % (mon_day(t - 1), 2000 + f["id"] % 7, q, t, f["id"])))
            out.append((t, "%s mx2 postfix/qmgr[900]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (mon_day(t), q, f["sender"], rng.randrange(2000, 90000), f["n"])))
            out.append((t, "%s mx2 %s[%d]: disconnect from %s[%s] ehlo=2%s mail=1 rcpt=%d data=1 quit=1 commands=7" % (mon_day(t), svc, pid, name, ip, " starttls=1" if f["tls"] else "", f["n"])))
        elif kind == "try":
            host, ip = f["relay"]
            pid = smtp.take(t - 1, t)
            if f["level"]:
                out.append((t - 1, "%s mx2 postfix/smtp[%d]: %s TLS connection established to %s[%s]:25: %s with cipher %s" % (mon_day(t - 1), pid, f["level"], host, ip, f["proto"], TLS_CIPHER)))
            for rcpt in f["rcpts"]:
                text = f["text"].replace("None", rcpt)
                if f["status"] != "sent":
                    text = "host %s[%s] said: %s (in reply to %s command)" % (host, ip, text, f["cmd"])
                out.append((t, "%s mx2 postfix/smtp[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=1.4, delays=0.01/0/0.4/1, dsn=%s, status=%s (%s)" % (mon_day(t), pid, q, rcpt, host, ip, f["dsn"], f["status"], text)))
    out.sort(key=lambda x: x[0])
    return [line for _, line in out]


def tls_exim_lines(rng, events):
    ids = {}
    for t, kind, f in events:
        m = ids.setdefault(f["id"], "1x%s-%s-%s" % ("".join(rng.choice(B62) for _ in range(4)), "".join(rng.choice(B62) for _ in range(6)), "".join(rng.choice(B62) for _ in range(2))))
        ts = exim_ts(t)
        if kind == "msg":
            name, ip = f["client"]
            proto = "esmtp" + ("s" if f["tls"] else "") + ("a" if f["user"] else "")
            x = " X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no" if f["tls"] else ""
            auth = " A=dovecot_plain:%s" % f["user"] if f["user"] else ""
            host = "%s [%s]" % (name, ip) if name != "unknown" else "(laptop) [%s]" % ip
            yield "%s %s <= %s H=%s P=%s%s%s S=%d id=%d.%d@relay.example" % (ts, m, f["sender"], host, proto, x, auth, rng.randrange(2000, 90000), t, f["id"])
        elif kind == "try":
            host, ip = f["relay"]
            x = ""
            if f["level"]:
                version = {"TLSv1.3": "TLS1.3", "TLSv1.2": "TLS1.2", "TLSv1": "TLS1.0"}[f["proto"]]
                x = " X=%s:TLS_AES_256_GCM_SHA384:256 CV=%s" % (version, "no" if f["level"] == "Untrusted" else "yes")
            for k, rcpt in enumerate(f["rcpts"]):
                text = f["text"].replace("None", rcpt)
                arrow = "=>" if k == 0 else "->"
                if f["status"] == "sent":
                    yield '%s %s %s %s R=dnslookup T=remote_smtp H=%s [%s]%s C="%s"' % (ts, m, arrow, rcpt, host, ip, x, text)
                elif f["status"] == "bounced":
                    yield "%s %s ** %s R=dnslookup T=remote_smtp H=%s [%s]%s: SMTP error from remote mail server after %s: %s" % (ts, m, rcpt, host, ip, x, cmd_exim(f["cmd"], rcpt), text)
                else:
                    yield "%s %s == %s R=dnslookup T=remote_smtp defer (-44) H=%s [%s]: SMTP error from remote mail server after %s: %s" % (ts, m, rcpt, host, ip, cmd_exim(f["cmd"], rcpt), text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--messages", type=int, default=1500)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata"))
    ap.add_argument("--healthy", action="store_true", help="a good day: writes healthy/ only")
    ap.add_argument("--overlap", action="store_true",
                    help="overlapping incidents: writes overlap/ only (Gmail storm 09:00-09:30, "
                         "Outlook listed 09:04-09:40, Yahoo limited all day)")
    ap.add_argument("--auth", action="store_true",
                    help="a submission server's day: writes auth/ only (SASL users; a password spray, "
                         "credential stuffing and a stolen account's burst, and the same day healthy)")
    ap.add_argument("--tls", action="store_true",
                    help="relay mx2's day with TLS logged: writes tls/ only (a downgrade to clear text "
                         "at Google, lost verification at Microsoft, SASL without TLS, and the same "
                         "day healthy)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    if a.tls:
        global SCALE, INCIDENTS
        SCALE, INCIDENTS = 0.15, False
        for healthy, name in ((False, "mail.log"), (True, "healthy.log")):
            events = tls_events(random.Random(a.seed + (17 if healthy else 11)), healthy, 800)
            write(os.path.join(a.out, "tls", name), tls_postfix_lines(random.Random(a.seed + 1), events))
            write(os.path.join(a.out, "tls", name.replace(".log", ".mainlog")),
                  tls_exim_lines(random.Random(a.seed + 3), events))
        return
    if a.auth:
        SCALE, INCIDENTS = 0.15, False
        for healthy, name in ((False, "mail.log"), (True, "healthy.log")):
            events = auth_events(random.Random(a.seed + (7 if healthy else 5)), healthy)
            write(os.path.join(a.out, "auth", name), auth_postfix_lines(random.Random(a.seed + 1), events))
            write(os.path.join(a.out, "auth", name.replace(".log", ".mainlog")),
                  auth_exim_lines(random.Random(a.seed + 3), events))
        return
    if a.overlap:
        global WINDOWS, YAHOO_BUSY_RATE, MX_ERRORS
        WINDOWS = {"storm": (3600, 3600 + 1800), "listed": (3600 + 240, 3600 + 2400),
                   "busy": (0, 10 ** 9)}
        YAHOO_BUSY_RATE, MX_ERRORS = 0.15, True
        events = simulate(rng, a.messages)
        write(os.path.join(a.out, "overlap", "mail.log"),
              postfix_lines(random.Random(a.seed + 1), events, lambda t, r: mon_day(t)))
        write(os.path.join(a.out, "overlap", "mainlog"), exim_lines(random.Random(a.seed + 3), events))
        return
    if a.healthy:
        SCALE, INCIDENTS = 0.15, False
        events = simulate(rng, a.messages)
        write(os.path.join(a.out, "healthy", "mail.log"),
              postfix_lines(random.Random(a.seed + 1), events, lambda t, r: mon_day(t)))
        write(os.path.join(a.out, "healthy", "mainlog"), exim_lines(random.Random(a.seed + 3), events))
        return
    events = simulate(rng, a.messages)
    write(os.path.join(a.out, "postfix", "mail.log"),
          postfix_lines(random.Random(a.seed + 1), events, lambda t, r: mon_day(t)))
    small = [e for e in events if e[2]["id"] < a.messages // 5]
    write(os.path.join(a.out, "postfix", "mail-iso.log"),
          postfix_lines(random.Random(a.seed + 2), small, lambda t, r: iso(t, r.randrange(10**6))))
    write(os.path.join(a.out, "exim", "mainlog"), exim_lines(random.Random(a.seed + 3), events))
    hostile(os.path.join(a.out, "edge", "hostile.log"))
    retries(os.path.join(a.out, "shapes", "retries.log"))
    handoff(os.path.join(a.out, "shapes", "handoff.log"))


if __name__ == "__main__":
    main()
