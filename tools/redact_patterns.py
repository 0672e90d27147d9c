"""The shapes of secret material that :mod:`tools.redact` replaces: key names, tokens, URLs, prose, blobs.

Kept apart from the walking logic so that covering a new form is one entry here (and one row in
``tests/redaction_corpus.py``). Every pattern is linear: no nested quantifiers over the same characters.
"""

from __future__ import annotations

import re

KEYWORD = (r"(?:pass(?:word|wd|phrase)?|pwd|(?<![a-z])pw(?![a-z])|(?-i:(?<=[a-z])P[wW](?![a-z]))|secret|token"
           r"|api[_-]?key|private[_-]?key|credential|(?<![a-z])creds?(?![a-z])|authorization"
           r"|(?<![a-z])auth(?![\w.-])|docker(?:config(?:json)?|cfg)"
           r"|(?:encryption|signing|master|session|access|client|hmac|ssh|license)[_.-]?key|[_.-]key(?![\w.-]))")
"""A word in a key name that makes its literal value a secret: ``DB_PASSWORD``, ``REDIS_PWD``, ``DB_PW``,
``redisPw``, ``SMTP_PASS``, ``GPG_PASSPHRASE``, ``*_TOKEN``, ``MAPS_APIKEY``, ``SERVICE_CREDS``, ``REDIS_AUTH``
and Docker's ``auth``, ``.dockerconfigjson``, ``*_KEY``. ``OAUTH_*``, ``author`` and ``auths`` are not secrets."""

TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pem", re.compile(r"-----BEGIN [A-Z0-9 ]+-----(?:.*?-----END [A-Z0-9 ]+-----|.*)", re.DOTALL)),
    ("aws-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b")),
    ("gitlab-token", re.compile(r"\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{16,}")),
    ("api-key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("stripe-key", re.compile(r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("pypi-token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{30,}")),
    ("sendgrid-key", re.compile(r"\bSG\.[\w-]{16,}\.[\w-]{16,}")),
    ("telegram-token", re.compile(r"(?<![0-9])[0-9]{8,10}:AA[0-9A-Za-z_-]{30,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("aws-secret", re.compile(r"(?i)aws_secret_access_key[\s:=\"']{1,4}(?P<s>[A-Za-z0-9/+]{40})")),
    ("bearer", re.compile(r"(?i)\b(?:bearer|basic)\s+(?P<s>[A-Za-z0-9._~+/=-]{8,})")),
    # webhook URLs: the path after the fixed prefix is the credential
    ("slack-webhook", re.compile(r"(?i)hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/(?P<s>[\w/+-]+)")),
    ("discord-webhook", re.compile(r"(?i)discord(?:app)?\.com/api/webhooks/(?P<s>[0-9]+/[\w.-]+)")),
    ("teams-webhook", re.compile(r"(?i)(?:webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/"
                                 r"(?P<s>[^\s\"'<>]+)")),
    # signed or keyed query strings: ?token=, &sig= (Azure SAS), ?key=, X-Amz-Signature=, access_token=
    ("query-secret", re.compile(r"(?i)(?<=[?&;])[\w.-]*(?:token|sig|signature|secret|key|password|passwd|pwd|pass"
                                r"|credential|auth)=(?P<s>[^&#\s\"'<>]+)")),
    # command lines: mysql -pX, curl -u user:X / --user user:X, sshpass -p X
    ("cli-password", re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n|;&]{0,256}?\s-p(?P<s>[^\s'\"]+)")),
    ("cli-password", re.compile(r"\b(?:curl|wget)\b[^\n|;&]{0,256}?\s(?:-u|--user)(?:\s+|=)['\"]?[^\s:'\"]*:(?P<s>[^\s'\"]+)")),
    ("cli-password", re.compile(r"\bsshpass\b[^\n|;&]{0,256}?\s-p\s*(?P<s>[^\s'\"]+)")),
)
"""Token shapes, replaced wherever they appear; with an ``s`` group, only that group (the key name stays)."""

URL_PASSWORD = re.compile(r"(?<![a-z0-9+.-])(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@\"'<>]*:)(?P<password>[^\s/\"'<>]+)"
                          r"(?=@)", re.IGNORECASE)
"""``scheme://user:password@host``, the user possibly empty (``redis://:pw@host``); the password runs to the
last ``@`` of the authority, so one containing ``@`` or ``:`` goes whole."""

VALUE = (r"(?:\"(?P<dq>(?:[^\"\\\n]|\\.)*)\"?|'(?P<sq>(?:[^'\\\n]|\\.)*)'?"
         r"|(?P<bare>(?:(?:bearer|basic|token|digest)\s+)?[^\s\"']\S*))")
_KEY = r"(?<![\w.-])(?P<key>(?=[\w.-]*?" + KEYWORD + r")[\w.-]+)"
_SECRET_WORDS = (r"(?P<key>(?=[\w.-]*?" + KEYWORD + r")[\w.-]+"
                 r"|(?:api|access|secret|private|encryption|signing|master|ssh)\s+key)")
ASSIGNMENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # password=x, spring.datasource.password: x, "token": "x", export API_KEY='x', PWD := x
    ("assignment", re.compile(_KEY + r"(?P<kq>[\"']?)\s*(?:==|:=|=|:)\s*" + VALUE, re.IGNORECASE)),
    # --db-password x (a flag and its argument in one string)
    ("flag", re.compile(r"(?<![\w.-])(?P<key>--?(?=[\w.-]*?" + KEYWORD + r")[\w.-]+)\s+" + VALUE, re.IGNORECASE)),
    # "the password is X", "the secret is: X", "old token was X": a statement, in any text
    ("prose", re.compile(r"(?<![\w.-])" + _SECRET_WORDS + r"\s+(?:is|was|are|were)(?:\s*:)?\s+" + VALUE,
                         re.IGNORECASE)),
)
"""Assignments of a secret-looking key, applied to every string (only the value is replaced)."""
PROSE = re.compile(r"(?<![\w.-])" + _SECRET_WORDS + r"\s+(?:(?:is|was|to|as|=|:)\s+)?" + VALUE, re.IGNORECASE)
"""``password hunter4``: the word after a secret word, only in prose (the intent, the focus, annotations)."""
STOPWORDS = frozenset(
    "a an the not no none null nil empty set unset required missing stored kept rotated managed mounted read "
    "provided generated defined configured used needed changed expired invalid valid wrong correct same "
    "different here there in at from on of for to by with via as and or if when until"
    .split())
"""Words that end a prose statement rather than name a secret (``the token is required``): kept in clear."""

BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{24,}={0,2}(?![A-Za-z0-9+/=_-])")
"""A base64 (or base64url) run long enough to hide a credential: decoded, and redacted whole when its text
holds one (a ``.dockerconfigjson``, a ``user:password``)."""
BASE64_MAX = 256 * 1024
"""Runs longer than this are not decoded but replaced whole: no model needs 256 KiB of base64."""
