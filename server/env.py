"""The server's environment-variable names. The server owns them; clients
(:mod:`unnatural.distill.remote`) import them from here, a module with no dependencies, so a
trainer needs none of the server's extras to read them."""

ENV_PREFIX = "UNNATURAL_"                   # every setting: UNNATURAL_<FIELD> (see ServerSettings)
TOKEN_ENV = ENV_PREFIX + "TOKEN"            # the bearer token
TOKEN_FILE_ENV = ENV_PREFIX + "TOKEN_FILE"  # a file whose first line is the token (wins over TOKEN_ENV)
