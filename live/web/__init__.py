"""Thin HTTP (and, later, websocket) handlers over `live.service`."""
