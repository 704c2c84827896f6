"""Offline-first replication between vehicle edge nodes and the hub.

A pure library: it works on SQLAlchemy tables and connections and never imports
Flask, so the edge, the hub, provisioning and the tests share one implementation.
"""
