"""Prefect flows: thin wiring over the plain functions in ingest/, warehouse/, notifications/…"""
