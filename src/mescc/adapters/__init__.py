"""Adapters at the edges: FHIR R4 import and export, CDS Hooks 2.0 cards.

They translate and present; they never hold clinical logic and never branch on a clinical
value other than reading the plan's own decisions (conventions §3.7).
"""
