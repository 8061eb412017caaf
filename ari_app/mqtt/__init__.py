"""Live events out to MQTT: pure message building (`messages`) and the publisher shell."""
