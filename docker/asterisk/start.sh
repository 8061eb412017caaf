#!/bin/sh
# Put the hotline's configs in place and fill CHANGE_ME_<NAME> placeholders from the
# ASTERISK_SECRET_<NAME> environment variables (Asterisk itself does not read the
# environment). Refuses to start with the ARI password still a placeholder.
set -eu
cp /hotline/config/*.conf /etc/asterisk/
cp /hotline/dialplan/extensions.conf /etc/asterisk/extensions.conf
for name in $(env | sed -n 's/^\(ASTERISK_SECRET_[A-Z0-9_]*\)=.*/\1/p'); do
  value=$(printenv "$name")
  [ -n "$value" ] || continue
  case "$value" in
    *[!A-Za-z0-9._-]*) echo "start.sh: $name must be letters, digits, . _ - only" >&2; exit 1 ;;
  esac
  sed -i "s/CHANGE_ME_${name#ASTERISK_SECRET_}\b/$value/g" /etc/asterisk/*.conf
done
if grep -q CHANGE_ME_ARI_PASSWORD /etc/asterisk/ari.conf; then
  echo "start.sh: ari.conf still has CHANGE_ME_ARI_PASSWORD; set HOTLINE_ARI_PASSWORD" >&2
  exit 1
fi
if [ -n "${HOTLINE_AGI_URL:-}" ]; then
  sed -i "s|^HOTLINE_AGI=.*|HOTLINE_AGI=${HOTLINE_AGI_URL}|" /etc/asterisk/extensions.conf
fi
# RTP range published by compose.yaml
printf '[general]\nrtpstart=10000\nrtpend=10099\n' > /etc/asterisk/rtp.conf
exec /usr/sbin/asterisk -f -vvv
