#!/bin/sh
# The namespace mms runs in, once the frontend answers; present already is fine.
set -eu
until temporal operator cluster health >/dev/null 2>&1; do sleep 1; done
temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1 ||
	temporal operator namespace create --namespace "$NAMESPACE" --retention 7d
