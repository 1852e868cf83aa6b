#!/bin/bash
# Healthcheck of cyber-local-kafka (it has no Kafka shell tools): sends a Metadata request (v4) to
# 127.0.0.1:${1:-9092} and succeeds when the broker answers with itself in the broker list, like
# scripts/infra.sh's kafka_metadata.
set -euo pipefail
exec 3<>"/dev/tcp/127.0.0.1/${1:-9092}"
# size=20 | api_key=3 api_version=4 correlation_id=1 client_id="ready" | topics=null auto_create=false
printf '\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x01\x00\x05ready\xff\xff\xff\xff\x00' >&3
size=$(dd bs=4 count=1 iflag=fullblock status=none <&3 | od -An -tu4 --endian=big | tr -d ' ')
[[ "$size" =~ ^[0-9]+$ && "$size" -gt 0 && "$size" -lt 1048576 ]]
dd bs="$size" count=1 iflag=fullblock status=none <&3 | grep -aq 'kafka'
