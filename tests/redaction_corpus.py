"""The redaction corpus: one row per secret form, so that covering a new form is one line.

Each :data:`LEAKS` row is ``(form, value, secret)``: ``value`` (a string, or a JSON-able object shaped like what a
provider sends) goes through :func:`tools.redact.redact`, and ``secret`` must not survive anywhere in the result.
A string value is free text of an ordinary key (a ConfigMap entry, an argument, a finding message); wrap it in
``{"intent": ...}`` or under ``metadata.annotations`` to test prose. Each :data:`KEEPS` row is ``(form, value,
kept)``: ``kept`` (a pointer, a reference, ordinary configuration) must survive, so precision is measured too.
"""

from __future__ import annotations

from typing import Any


def env(name: str, value: str) -> list[dict[str, str]]:
    """A container's env list with one literal variable."""
    return [{"name": name, "value": value}]


def annotated(text: str) -> dict[str, Any]:
    """An object whose annotation holds ``text``."""
    return {"kind": "Deployment", "metadata": {"name": "web", "annotations": {"team/notes": text}}}


DOCKER_B64 = "eyJhdXRocyI6eyJnaGNyLmlvIjp7ImF1dGgiOiJkWE5sY2pwbmFIQmZjMlZqY21WMCJ9fX0="
"""base64 of ``{"auths":{"ghcr.io":{"auth":"dXNlcjpnaHBfc2VjcmV0"}}}`` (a ``.dockerconfigjson``)."""
DOCKER_B64_PRETTY = "ewogICJhdXRocyI6IHsKICAgICJyZWcuZXhhbXBsZSI6IHsKICAgICAgImF1dGgiOiAiY0dGemN6cFRaV055WlhRPSIKICAgIH0KICB9Cn0K"
"""base64 of an indented ``{"auths": {"reg.example": {"auth": "cGFzczpTZWNyZXQ="}}}`` with a trailing newline."""

LEAKS: list[tuple[str, Any, str]] = [
    # -- env names ending in a secret word ------------------------------------------------------------------------
    ("env _PW", env("DB_PW", "EnvPwVal01"), "EnvPwVal01"),
    ("env PW alone", env("PW", "EnvPwVal02"), "EnvPwVal02"),
    ("env _PWD", env("REDIS_PWD", "EnvPwdVal03"), "EnvPwdVal03"),
    ("env _PASS", env("SMTP_PASS", "EnvPassVal04"), "EnvPassVal04"),
    ("env _PASSPHRASE", env("GPG_PASSPHRASE", "EnvPhrase05"), "EnvPhrase05"),
    ("env _SECRET_KEY", env("DJANGO_SECRET_KEY", "EnvSecKey06"), "EnvSecKey06"),
    ("env _TOKEN", env("GITLAB_TOKEN", "EnvTok07"), "EnvTok07"),
    ("env _APIKEY", env("MAPS_APIKEY", "EnvApiKey08"), "EnvApiKey08"),
    ("env _API_KEY", env("STRIPE_API_KEY", "EnvApiKey09"), "EnvApiKey09"),
    ("env _AUTH", env("REDIS_AUTH", "EnvAuth10"), "EnvAuth10"),
    ("env _CREDS", env("SERVICE_CREDS", "EnvCreds11"), "EnvCreds11"),
    ("key camelCase Pw", {"redisPw": "KeyPw12"}, "KeyPw12"),
    ("key db.pw", {"db.pw": "KeyPw13"}, "KeyPw13"),
    ("text export X_PW=", "export DB_PW=TextPw14 && exec app", "TextPw14"),
    ("text X_PWD: in values", "redis:\n  REDIS_PWD: TextPwd15\n", "TextPwd15"),
    ("text X_PASS=", "SMTP_PASS=TextPass16", "TextPass16"),
    # -- credentials in URLs --------------------------------------------------------------------------------------
    ("url redis://:pw@", "redis://:RedisPw17@cache:6379/0", "RedisPw17"),
    ("url rediss://user:pw@", "rediss://default:RedisPw18@cache:6380", "RedisPw18"),
    ("url amqp://", "amqp://app:AmqpPw19@rabbit:5672/vhost", "AmqpPw19"),
    ("url mongodb+srv://", "mongodb+srv://app:MongoPw20@cluster0.example.net/db", "MongoPw20"),
    ("url https://user:pw@", "git clone https://bot:HttpsPw21@git.example.com/org/repo.git", "HttpsPw21"),
    ("url password with @", "postgres://app:Pa@ssW0rd22@db:5432/app", "ssW0rd22"),
    ("url password with :", "mysql://app:Pa:ssW0rd23@db/app", "ssW0rd23"),
    ("url in env of plain name", env("CACHE_URL", "redis://:EnvUrlPw24@cache:6379"), "EnvUrlPw24"),
    ("url ftp://", "ftp://anon:FtpPw25@files.example.com/pub", "FtpPw25"),
    ("url in JSON", '{"dsn":"redis://:JsonUrlPw26@h:6379","next":"a@b"}', "JsonUrlPw26"),
    # -- Docker registry credentials ------------------------------------------------------------------------------
    ("docker auths.*.auth text", '{"auths":{"ghcr.io":{"auth":"dXNlcjpnaHBfc2VjcmV0"}}}', "dXNlcjpnaHBfc2VjcmV0"),
    ("docker auths.*.auth object", {"auths": {"registry.example": {"auth": "cm9ib3Q6RG9ja2VyUHcyOA=="}}},
     "cm9ib3Q6RG9ja2VyUHcyOA=="),
    ("docker auths identitytoken", {"auths": {"acr.example": {"identitytoken": "IdTok29"}}}, "IdTok29"),
    ("docker .dockerconfigjson key", {"pull": {".dockerconfigjson": DOCKER_B64}}, DOCKER_B64[:24]),
    ("docker dockerconfigjson b64 in text", f"pull config: {DOCKER_B64}", DOCKER_B64[:24]),
    ("docker indented b64 in annotation", annotated(DOCKER_B64_PRETTY), DOCKER_B64_PRETTY[:24]),
    ("docker .dockercfg key", {"legacy": {".dockercfg": "eyJyZWcuZXhhbXBsZSI6e319Cg=="}}, "eyJyZWcuZXhhbXBsZSI6e319Cg=="),
    # -- webhook URLs and signed query strings ---------------------------------------------------------------------
    ("slack webhook", "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/SlackHookSecret0033xyzAB", "SlackHookSecret0033"),
    ("slack workflow webhook", "https://hooks.slack.com/triggers/T0ABCDEF1/123456/SlackTrig34abcdef", "SlackTrig34"),
    ("discord webhook", "https://discord.com/api/webhooks/123456789012345678/DiscordTok35-abc_DEF", "DiscordTok35"),
    ("discordapp webhook", "https://discordapp.com/api/webhooks/123456789012345678/DiscordTok36xyz", "DiscordTok36"),
    ("teams webhook", "https://contoso.webhook.office.com/webhookb2/a1b2@c3d4/IncomingWebhook/TeamsTok37ff/e5f6",
     "TeamsTok37"),
    ("query ?token=", "https://ci.example.com/hook?token=QueryTok38", "QueryTok38"),
    ("query &sig= (SAS)", "https://acct.blob.core.windows.net/c/b.tgz?sv=2022-11-02&sr=b&sig=SasSig39%2Babc%3D",
     "SasSig39"),
    ("query ?key=", "https://api.example.com/v1/send?key=QueryKey40&lang=en", "QueryKey40"),
    ("query access_token", "https://graph.example.com/me?access_token=QueryTok41", "QueryTok41"),
    ("query X-Amz-Signature", "https://b.s3.amazonaws.com/o?X-Amz-Date=20240101&X-Amz-Signature=ab12AmzSig42cd",
     "AmzSig42"),
    ("query google chat webhook", "https://chat.googleapis.com/v1/spaces/AAA/messages?key=GKey43&token=GTok43",
     "GTok43"),
    ("telegram bot token", "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw44/sendMessage",
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw44"),
    # -- prose in annotations and free text ------------------------------------------------------------------------
    ("annotation 'the password is X'", annotated("ops: the password is AnnoPw45, rotate monthly"), "AnnoPw45"),
    ("annotation 'password: X'", annotated("password: AnnoPw46"), "AnnoPw46"),
    ("annotation 'db password X'", annotated("db password AnnoPw47 until Friday"), "AnnoPw47"),
    ("annotation 'token was X'", annotated("old token was AnnoTok48"), "AnnoTok48"),
    ("text 'the password is X'", "README: the admin password is TextPw49 for now", "TextPw49"),
    ("text 'secret is: X'", "note that the secret is: TextSec50", "TextSec50"),
    ("text 'passphrase = X'", "gpg passphrase = TextPhrase51", "TextPhrase51"),
    ("intent 'the api key is X'", {"intent": "the api key is IntentKey52, ship it"}, "IntentKey52"),
    ("finding message 'password is X'", {"findings": [{"message": "comment says the password is MsgPw53"}]},
     "MsgPw53"),
    # -- command lines ---------------------------------------------------------------------------------------------
    ("mysql -pX", "mysql -uroot -pMysqlPw54 shop < dump.sql", "MysqlPw54"),
    ("curl -u user:pw", "curl -fsS -u admin:CurlPw55 https://api.example.com", "CurlPw55"),
    ("curl --user user:pw", "curl --user admin:CurlPw56 https://api.example.com", "CurlPw56"),
    ("sshpass -p", "sshpass -p SshPw57 ssh deploy@host", "SshPw57"),
    # -- token shapes ----------------------------------------------------------------------------------------------
    ("gitlab token", "git remote add origin https://oauth2@gitlab.example.com # glpat-AbCdEfGhIjKlMnOpQr58",
     "glpat-AbCdEfGhIjKlMnOpQr58"),
    ("google api key", "maps: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStU59", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStU59"),
    ("stripe live key", "billing sk_live_51AbCdEfGhIjKlMnOpQrSt60", "sk_live_51AbCdEfGhIjKlMnOpQrSt60"),
    ("npm token", "//registry.npmjs.org/:_authToken npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456761",
     "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456761"),
    ("huggingface token", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234562", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234562"),
    ("sendgrid key", "SG.AbCdEfGhIjKlMnOpQrStUv.WxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz63",
     "WxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz63"),
]

KEEPS: list[tuple[str, Any, str]] = [
    ("url without credentials", "redis://redis:6379/0", "redis://redis:6379/0"),
    ("url ordinary query", "https://example.com/docs?page=2&lang=en", "page=2&lang=en"),
    ("url with a $(VAR) password", "postgresql://app:$(DB_PASSWORD)@db/app", "$(DB_PASSWORD)"),
    ("scp-like git remote", "git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ("image reference", "registry.example/web:1.2.3", "registry.example/web:1.2.3"),
    ("pointer env", env("DB_PASSWORD_FILE", "/run/secrets/db"), "/run/secrets/db"),
    ("secret name pointer", {"secretName": "db-creds"}, "db-creds"),
    ("engine message", {"findings": [{"message": "sets env DB_PASSWORD to a literal value although its name says "
                                                 "it is a secret"}]}, "a literal value although its name says"),
    ("annotation without secrets", annotated("owned by team payments; page #oncall"), "owned by team payments"),
    ("plain env", env("LOG_LEVEL", "info"), "info"),
    ("docker registry host", {"auths": {"registry.example": {"auth": "x"}}}, "registry.example"),
    ("slack channel link", "https://example.slack.com/archives/C0123", "https://example.slack.com/archives/C0123"),
    ("sha256 digest", "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    ("base64 that is not a credential", {"caBundle": "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQ="},
     "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQ="),
]
