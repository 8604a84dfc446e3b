"""The web service: REST API, clinician web app, PDF report and audit trail.

It translates and presents; every clinical result comes from :mod:`mescc.document`.
"""
