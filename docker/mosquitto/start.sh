#!/bin/sh
# Write the password file from the environment (mosquitto_passwd hashes it), then serve.
set -eu
: "${MQTT_USERNAME:?}" "${MQTT_PASSWORD:?}"
rm -f /mosquitto/data/passwd
mosquitto_passwd -b -c /mosquitto/data/passwd "$MQTT_USERNAME" "$MQTT_PASSWORD"
chown mosquitto:mosquitto /mosquitto/data/passwd
chmod 0600 /mosquitto/data/passwd
exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
