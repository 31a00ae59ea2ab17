#!/bin/sh
# The offline replica's /lambda-entrypoint.sh, copying what AWS's base image does:
# the one argument is the handler; outside Lambda (no AWS_LAMBDA_RUNTIME_API) the
# Runtime Interface Emulator is started and runs the runtime client as its bootstrap,
# inside Lambda (or under an RIE that set the variable) the runtime client runs directly.

# AWS's entrypoint refuses anything but exactly one argument, with status 142.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie /var/lang/bin/python -m awslambdaric "$@"
else
  exec /var/lang/bin/python -m awslambdaric "$@"
fi
