"""Schemathesis hooks for latchkey: the development organisation's credentials.

Every operation of latchkey's API that declares security takes two headers: `x-api-key`
(the organisation's public key) and `Authorization: Bearer <secret key>`. They come from
the environment run.sh sets from the server's banner, through schemathesis's auth
mechanism, so that checks such as `ignored_auth` know them as the credentials and can
remove or alter them.
"""

import os

import schemathesis


@schemathesis.auth(refresh_interval=None)
class LatchkeyDevKeys:
    def get(self, case, context):
        return (os.environ["LATCHKEY_PUBLIC_KEY"], os.environ["LATCHKEY_SECRET_KEY"])

    def set(self, case, data, context):
        public, secret = data
        case.headers = case.headers or {}
        case.headers["x-api-key"] = public
        case.headers["Authorization"] = f"Bearer {secret}"
