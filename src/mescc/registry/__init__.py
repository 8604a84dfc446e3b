"""Registry mode: validate instruments on a cohort, derive site tables, synthetic cohorts."""
